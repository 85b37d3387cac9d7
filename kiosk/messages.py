"""Stable codes for the sentences a guard or admin reads, each naming its catalogue entry.

Codes are stable (scripts and the server match on them, JSON outputs carry them); the
words may change. Each code maps to an English msgid of the one catalogue
(kiosk/catalog.py), whose ``.po`` holds the Vietnamese, so translators see these
sentences with every other word. Messages never contain personal data: parameters are
counts, field names, limits.
"""

from __future__ import annotations

from kiosk.catalog import N_, Word, bilingual_of, text

MESSAGES: dict[str, str] = {
    # recognition
    "empty": N_("Empty code, scan again."),
    "too_long": N_("Code too long ({length} characters, at most {limit}), scan again."),
    "cccd_bad_id": N_("Invalid ID card code: the ID number must have 12 digits."),
    "cccd_bad_old_id": N_("Invalid ID card code: the old ID number must have 9 digits."),
    "cccd_bad_date": N_("Invalid ID card code: {field} is not a valid date."),
    "cccd_bad_name": N_("Invalid ID card code: the name is missing."),
    "cccd_bad_sex": N_("Invalid ID card code: sex must be Nam or Nữ."),
    "dcc_base45": N_("Damaged vaccine certificate (bad base45), scan again."),
    "dcc_zlib": N_("Damaged vaccine certificate (cannot decompress)."),
    "dcc_cose": N_("Damaged vaccine certificate (bad signature structure)."),
    "dcc_payload": N_("Vaccine certificate content cannot be read."),
    "phone_empty": N_("No phone number entered."),
    "phone_chars": N_("A phone number has only digits (it may start with +)."),
    "phone_length": N_("A phone number has 10 digits (starting with 0)."),
    "phone_foreign": N_("Only Vietnamese phone numbers are accepted."),
    "phone_invalid": N_("This phone number does not exist (wrong prefix)."),
    # manual entry
    "id_number_invalid": N_("The ID number must have 12 digits (CCCD) or 9 digits (old CMND)."),
    "name_too_long": N_("Name too long (at most {limit} characters)."),
    "name_invalid": N_("A name has only letters and spaces."),
    # scan service
    "repeat": N_("Already recorded at {time}"),
    "direction_fixed": N_("This checkpoint records {allowed} only."),
    "storage_full": N_("Storage is full: this visit was not recorded. Ask the admin to free space."),
    "storage_readonly": N_("Storage is read-only: this visit was not recorded. Tell the admin."),
    "storage_error": N_("Storage error: this visit was not recorded. Tell the admin."),
    "storage_corrupt": N_("The stored data is damaged: this visit was not recorded. Restart the kiosk and tell the admin."),
    "visit_invalid": N_("This visit was not recorded: {what} is invalid or too long. Enter it by hand with a phone number."),
    "scan_failed": N_("This code could not be processed: the visit was not recorded, scan again."),
    # enrolment and sync (the sync client; the core shows the last one in status)
    "enroll_needs_code": N_("Give the server address (--server) and the enrolment code (--code), or the enrolment QR text (--qr)."),
    "enroll_qr_invalid": N_("This QR code is not a kiosk enrolment code (it should start with cpk-enroll:1?)."),
    "server_url_invalid": N_("Invalid server address: {server} (e.g. https://kiemsoat.example.gov.vn)."),
    "server_http_refused": N_(
        "Nothing is sent to {server} because http:// is not encrypted: use the server's https:// address, or set "
        "server.allow_insecure_http = true in the config file if this is a private network you trust."
    ),
    # checkpoint-server serve --workers (server/cli.py, server/workers.py)
    # checkpoint-server check-counts (server/cli.py, server/daily_counts.py)
    # the district server's warnings about the address it gives kiosks (server/cli.py)
    "server_public_url_plain": N_(
        "Warning: the server's public address is {url} (unencrypted http://, not this machine): kiosks will "
        'refuse to enrol and sync through it. Set server.public_url = "https://…" behind a reverse proxy with a '
        "certificate (see deploy/Caddyfile)."
    ),
    "enroll_code_plain": N_(
        "Warning: this QR code sends the kiosk to {url} over unencrypted http://: the kiosk will refuse it unless "
        "server.allow_insecure_http = true. Use --server-url https://… or set server.public_url."
    ),
    "enroll_code_local": N_(
        "Note: this QR code sends the kiosk to {url}, which is this machine: only a kiosk running here can use it. "
        'For kiosks at checkpoints, set server.public_url = "https://…" (an address they can reach) in {config}, '
        "or use --server-url."
    ),
    "enroll_code_unknown": N_("Unknown enrolment code: check every character."),
    "enroll_code_used": N_("This enrolment code was already used: ask the district admin for a new one."),
    "enroll_code_expired": N_("This enrolment code has expired: ask the district admin for a new one."),
    "enroll_not_saved": N_(
        "Could not save the enrolment in {path}: free some space, then run checkpoint-kiosk enroll again with the same code."
    ),
    # enrolment could not reach the server: nothing is waiting to be sent, but the code (and its
    # nonce, sync/pending_enrolment.py) is kept, so the same command again finishes it
    "enroll_server_unreachable": N_(
        "Could not reach the server {server}: check the server address and the network. The kiosk is not enrolled "
        "yet; the enrolment code is kept for a retry: run the same command again with the same code (or scan the "
        "QR code again) to finish."
    ),
    "enroll_server_error": N_(
        "The server {server} answered with an error (HTTP {status}) to the enrolment. The kiosk is not enrolled "
        "yet; the enrolment code is kept for a retry: in a few minutes, run the same command again with the same "
        "code (or scan the QR code again) to finish."
    ),
    "not_enrolled": N_(
        "This kiosk is not enrolled with the district server: run checkpoint-kiosk enroll. Visits stay stored here."
    ),
    "server_unreachable": N_(
        "Cannot reach the server {server}: check the network. Visits stay stored and are sent when it is back."
    ),
    "tls_error": N_("The server's TLS certificate could not be verified ({server}): check the address and this machine's clock."),
    "server_error": N_("The server answered with an error (HTTP {status}): will retry later. Visits stay stored here."),
    "server_bad_answer": N_("The server's answer was not understood: check the server address {server}."),
    "token_revoked": N_("The server revoked this kiosk's token: enrol it again with a new code."),
    "token_rotated": N_("This kiosk's device token was replaced on the server: enrol it again with a new code."),
    "token_unknown": N_("The server does not know this kiosk: enrol it again with a new code."),
    "needs_reenrolment": N_("This kiosk must be enrolled again before it can send (checkpoint-kiosk enroll). Visits stay stored."),
    "sync_busy": N_("Another sync is already running on this kiosk."),
    "sync_cancelled": N_("Sync stopped: the rest will be sent later."),
    # what checkpoint-kiosk sync is doing while it is not sending (sync/notices.py, sync/progress.py)
    "sync_connecting": N_("connecting to {host} · {pending} visits waiting"),
    "sync_waiting_turn": N_("waiting for another sync on this kiosk (the app's or the timer's) to finish"),
    "sync_retry_server_unreachable": N_("no connection: retrying in {delay} s (try {attempt} of {tries})"),
    "sync_retry_server_error": N_("the server answered HTTP {status}: retrying in {delay} s (try {attempt} of {tries})"),
    "sync_retry_server_bad_answer": N_("the server's answer could not be read: retrying in {delay} s (try {attempt} of {tries})"),
    "sync_retry_rate_limited": N_("the server asked to wait (HTTP 429): retrying in {delay} s (try {attempt} of {tries})"),
    # the last line of a sync that did not finish: what happened, how many still wait, what to do
    "sync_end_server_unreachable": N_(
        "Not sent: could not connect to the server {host} after {tries} tries. {pending} visits still waiting, "
        "kept on this kiosk. Check the network (cable, Wi-Fi, 4G) and server.url, then run checkpoint-kiosk sync "
        "again; a running kiosk also sends them by itself once the server answers."
    ),
    "sync_end_server_error": N_(
        "Not sent: the server {host} answered with an error (HTTP {status}) after {tries} tries. {pending} visits "
        "still waiting, kept on this kiosk. Run checkpoint-kiosk sync again in a few minutes; if it persists, tell "
        "the district IT officer."
    ),
    "sync_end_server_bad_answer": N_(
        "Not sent: the answers from {host} could not be read after {tries} tries. {pending} visits still waiting, "
        "kept on this kiosk. Check server.url (is it the district server?), then run checkpoint-kiosk sync again."
    ),
    "sync_end_other": N_("Not finished: {reason} {pending} visits still waiting, kept on this kiosk."),
    "visit_too_large": N_("This visit is too large for the server to accept."),
    "export_nothing": N_("There are no pending visits to export."),
    "export_failed": N_("Could not write the file to {directory}: {detail}. Check that the USB stick is mounted and has space."),
    "receipt_invalid": N_("The receipt file is damaged or belongs to another kiosk."),
    # doctor: one line per check (kiosk/doctor.py, drivers/doctor.py, sync/doctor.py), then its fix
    "doctor_config_ok": N_("Configuration valid: {file}."),
    "doctor_config_defaults": N_("No config file: the kiosk runs on built-in defaults (a demo checkpoint)."),
    "doctor_config_invalid": N_("The configuration is invalid: {error}"),
    "doctor_data_dir_ok": N_("Data directory writable: {path}."),
    "doctor_data_dir_missing": N_("The data directory does not exist yet: {path} (created when the kiosk first runs)."),
    "doctor_data_dir_denied": N_("User {user} cannot write to the data directory {path}."),
    "doctor_data_dir_readonly": N_("The disk holding {path} is read-only: the kiosk cannot record new visits."),
    "doctor_disk_ok": N_("{free} free on the data disk."),
    "doctor_disk_low": N_("Disk space is running low: {free} free (keep more than {warn})."),
    "doctor_disk_full": N_("The disk is full: {free} free; the kiosk cannot record new visits."),
    "doctor_db_ok": N_("Database intact (quick_check): {path}."),
    "doctor_db_missing": N_("No database yet: it is created at the first scan ({path})."),
    "doctor_db_corrupt": N_("The database is corrupt: {path} ({detail})."),
    "doctor_db_unreadable": N_("User {user} cannot open the database {path} ({detail})."),
    "doctor_db_quarantined": N_("A corrupt database was moved aside: {path}."),
    "doctor_clock_ok": N_("Clock synchronised ({source}: {detail})."),
    "doctor_clock_unsynced": N_(
        "Clock not synchronised ({source}: {detail}); visit times are corrected once the server's time is known."
    ),
    "doctor_clock_unknown": N_("Cannot tell whether the clock is synchronised: no time service answered."),
    "doctor_outbox_ok": N_("Pending {pending}, rejected {rejected}; last successful sync: {last}."),
    "doctor_outbox_rejected": N_(
        "The server rejected {rejected} visits; they have not reached the district ({codes}); "
        "pending {pending}; last successful sync: {last}."
    ),
    "doctor_outbox_stale": N_("{pending} visits waiting to be sent; last successful sync: {last}."),
    "doctor_outbox_unknown": N_("The outbox cannot be read (see the database line)."),
    "doctor_not_enrolled": N_("This kiosk is not enrolled with the district server ({pending} visits pending)."),
    "doctor_needs_reenrolment": N_("The server refused this kiosk's device token: {pending} visits cannot be sent."),
    "doctor_readers_none": N_("No reader is enabled (only keyboard-mode readers typing into the app's window work)."),
    "doctor_reader_ok": N_("The {kind} reader opens: {path}."),
    "doctor_reader_missing": N_("No {kind} reader matches {wanted}."),
    "doctor_reader_denied": N_("User {user} cannot open {path}: permission denied (needs group {group})."),
    "doctor_reader_error": N_("Cannot open {path}: {detail}."),
    "doctor_camera_ok": N_("Camera {device} gives {width}×{height} frames and decodes them ({codes} QR codes in view)."),
    "doctor_camera_failed": N_("Camera {device} is not usable: {detail}."),
    "doctor_server_none": N_("No server to check (the kiosk is not enrolled and server.url is empty)."),
    "doctor_server_ok": N_("The server {server} answers."),
    "doctor_server_unreachable": N_("Cannot reach the server {server} (waited up to {seconds} s)."),
    "doctor_server_bad_answer": N_("{server} answers but is not a checkpoint server ({detail})."),
    "doctor_tls_ok": N_("The server's TLS certificate is valid."),
    "doctor_tls_plain": N_(
        "The connection to the server {server} is not encrypted (http://, allowed by server.allow_insecure_http = true)."
    ),
    "doctor_tls_loopback": N_("The server {server} is on this machine (http:// does not leave it)."),
    "doctor_tls_refused": N_("Nothing is sent to {server}: http:// is not encrypted and the server is not this machine."),
    "doctor_tls_invalid": N_("The TLS certificate of {server} is not valid for this kiosk."),
    "doctor_server_clock_ok": N_("The clock agrees with the server's (off by {offset})."),
    "doctor_server_clock_off": N_("The clock is {offset} off the server's (the kiosk is {direction})."),
    "doctor_token_ok": N_("The server accepts the device token: {device_id} · {checkpoint}."),
    "doctor_token_refused": N_("The server refuses this kiosk's device token ({reason})."),
    "doctor_check_timeout": N_("The {check} check did not finish within {seconds} s."),
    "doctor_check_crashed": N_("The {check} check failed ({kind})."),
    # doctor: the one-line fixes
    "fix_config_defaults": N_("Install the kiosk service: sudo ./setup.sh --service (creates /etc/checkpoint-kiosk/config.toml)."),
    "fix_config_invalid": N_(
        "Fix the key named in the config file (see config.example.toml), then run checkpoint-kiosk doctor again."
    ),
    "fix_data_dir_missing": N_("Run the kiosk once, or sudo ./setup.sh --service (creates /var/lib/checkpoint-kiosk)."),
    "fix_data_dir_denied": N_("sudo chown -R {user} {path} (or run doctor as the kiosk's user: sudo -u checkpoint-kiosk)."),
    "fix_readonly": N_("Back up the data, shut down, check or replace the SD card (a read-only card is usually failing)."),
    "fix_disk": N_("Free space: sudo journalctl --vacuum-size=50M and delete unneeded files; sent visits go after retention_days."),
    "fix_db_corrupt": N_(
        "Restart the kiosk (sudo systemctl restart checkpoint-kiosk): the corrupt file is moved aside, never deleted; "
        "restore a backup with checkpoint-kiosk restore."
    ),
    "fix_db_quarantined": N_("Get back the unsent visits it holds: checkpoint-kiosk recover {path} (the file is still kept)."),
    "fix_clock": N_("Check the network and turn on time sync: sudo timedatectl set-ntp true."),
    "fix_clock_service": N_(
        "Install and turn on a time service: sudo apt install systemd-timesyncd && sudo timedatectl set-ntp true."
    ),
    "fix_clock_offset": N_(
        "Turn on time sync (sudo timedatectl set-ntp true) or set the right time: sudo date -s 'YYYY-MM-DD HH:MM'."
    ),
    "sync_rejected_now": N_("the server rejected {count} visits in this sync; they have not reached the district"),
    "sync_rejected_earlier": N_("{count} visits the server rejected earlier are still on this kiosk, not at the district"),
    "rejected_other_reasons": N_("{count} more reason(s)"),
    "see_rejected": N_("see"),
    "fix_rejected": N_(
        "See why: checkpoint-kiosk visits --rejected (or Admin > Sync); fix the cause, then resend: "
        "checkpoint-kiosk sync --retry-rejected; if it cannot be fixed, tell the district."
    ),
    "fix_stale": N_(
        "Check the network, then run checkpoint-kiosk sync; without a network: checkpoint-kiosk export --to /media/usb."
    ),
    "fix_enrol": N_(
        "Get a new enrolment code from the district, then run checkpoint-kiosk enroll --qr '…' (or Admin > Enrolment)."
    ),
    "fix_readers_none": N_("Enable a reader in the config file: scanners.serial.enabled = true (or hid, camera)."),
    "fix_reader_missing": N_("Plug the reader in (serial/USB-CDC mode for ID cards) and see checkpoint-kiosk scanners."),
    "fix_reader_denied": N_(
        "sudo usermod -aG {group} {user}, then restart the kiosk; or sudo ./setup.sh --service (user and udev rules)."
    ),
    "fix_reader_error": N_("Unplug and replug the reader; see checkpoint-kiosk scanners."),
    "fix_camera": N_("Check the cable and scanners.camera.device; permission: sudo usermod -aG video {user}."),
    "fix_server_unreachable": N_("Check the network (cable, Wi-Fi, 4G) and server.url; visits stay stored here."),
    "fix_server_address": N_("Check server.url in the config file (e.g. https://kiemsoat.example.gov.vn)."),
    "fix_tls_plain": N_("Use https:// through a reverse proxy with a certificate (see deploy/)."),
    "fix_tls_refused": N_(
        "Use the server's https:// address (server.url, or enrol again with a new code); only on a private network "
        "you trust, set server.allow_insecure_http = true."
    ),
    "fix_tls_invalid": N_(
        'If the district uses its own CA: set server.ca_file = "/etc/checkpoint-kiosk/ca.pem" in the config file; '
        "check the clock too."
    ),
    "fix_check_again": N_("Run checkpoint-kiosk doctor again; if it persists, tell the district IT officer."),
    # backup, restore and damaged databases (kiosk/backup.py, kiosk/quarantine.py)
    "database_quarantined": N_(
        "DATABASE DAMAGED: moved to {path} (not deleted) and a new one started. "
        "Tell the admin: visits not yet sent may be in that file."
    ),
    "backup_no_folder": N_("There is no folder {directory}: check that the USB stick is plugged in and mounted."),
    "backup_readonly": N_(
        "Cannot write to {directory} (read-only or no permission): use another USB stick or slide its write-protect off."
    ),
    "backup_full": N_("{directory} is full (about {size} needed): delete some files or use another USB stick."),
    "backup_failed": N_("The backup to {directory} failed: {detail}. No backup file was written."),
    "restore_not_kiosk": N_("{file} is not a kiosk backup: nothing was changed."),
    "restore_damaged": N_("The backup {file} is damaged (integrity check failed): nothing was changed, use another backup."),
    "restore_newer": N_(
        "The backup {file} was made by newer software (schema {version} > {supported}): update this kiosk first. "
        "Nothing was changed."
    ),
    "restore_pending": N_(
        "This kiosk holds {count} visits not yet sent to the server that the backup does not have: sync or export "
        "them first, or add --force (the current data is still kept aside)."
    ),
    "restore_in_use": N_(
        "Another program has the database open (a sync, another command): try again in a few minutes. Nothing was changed."
    ),
    "recover_is_live": N_("{file} is the database in use, not a damaged file kept aside (visits.sqlite3.corrupt-…)."),
    "kiosk_running": N_(
        "A kiosk is already running on the data directory {data_dir} (process {pid}): stop it first "
        "(sudo systemctl stop checkpoint-kiosk)."
    ),
    "run_no_screen": N_(
        "No screen for the app: this SSH session has no DISPLAY or WAYLAND_DISPLAY, so the app would run where "
        "nobody sees it. Use checkpoint-kiosk run --headless (the readers only) or run --terminal (scans in this "
        "terminal); to open the app on the kiosk's own screen: sudo systemctl start checkpoint-kiosk (or set "
        "SDL_VIDEODRIVER=kmsdrm if that is what you mean)."
    ),
    # the log of a running kiosk (drivers/, ui/sounds.py)
    "reader_unplugged": N_("reader {device} unplugged; waiting for it to come back"),
    "sounds_no_device": N_("no sound device: sounds are off, the kiosk works as usual"),
    # the CLI (kiosk/lazygroup.py): a command whose module cannot be imported on this machine
    "command_unavailable": N_("The {command} command is not available on this machine, a part it needs is missing: {error}."),
    "retention_purged": N_(
        "Purged {synced} delivered visits older than {days} days and {rejected} rejected visits older than "
        "{rejected_days} days; pending visits are never purged."
    ),
    "retention_record": N_(
        "Purged by retention: {synced_total} delivered, {rejected_total} rejected visits; last pass {last} "
        "({last_synced} delivered, {last_rejected} rejected)."
    ),
    "retention_never": N_(
        "No retention purge yet (delivered visits go after {days} days, rejected ones after {rejected_days} days)."
    ),
    "doctor_modes_ok": N_("Only the kiosk's user can read the data files ({path})."),
    "doctor_mode_open": N_(
        "{path} is open to other users (mode {mode}, should be {wanted}): it holds personal data or the kiosk's key."
    ),
    "fix_mode": N_("sudo chmod {wanted} {path}"),
    "restore_schema": N_(
        "{file} was not restored: its structure differs from the one the kiosk makes ({problems}). A file "
        "with a foreign trigger, view or table could stop the kiosk sending its data. Nothing was changed; "
        "use a backup the kiosk made itself (checkpoint-kiosk backup)."
    ),
    "restore_bad_rows": N_(
        "{file} was not restored: it has rows of the wrong shape ({problems}). Nothing was changed; use another backup."
    ),
    "card_damaged": N_("Damaged disease-control card (or read incompletely), scan again."),
    "card_number_invalid": N_("Invalid card number."),
    "card_birth_year_invalid": N_("Invalid year of birth (1900–2100)."),
    "card_text_missing": N_("The name or the commune is missing."),
    "card_text_too_long": N_("Name and commune too long for a card (at most 117 UTF-8 bytes together)."),
    "card_reprint_revoked": N_("Card {number} is revoked and is not printed again: use cards replace for a new card."),
    "card_issue_date_invalid": N_("Invalid card issue date (2020 or later)."),
    "server_workers_need_postgresql": N_(
        "Cannot run {workers} workers on {db}: SQLite takes one writer at a time and keeps rate limits in one "
        'process. Use --workers 1, or PostgreSQL (server.db = "postgresql://…").'
    ),
    "server_counts_equal": N_("The daily and monthly counts equal a full recount of the stored visits."),
    "server_counts_differ": N_(
        "The counts differ from a recount in {n} places (counts, recounted from, checkpoint id, day or month, direction, "
        "kind: counted/recounted):"
    ),
    "fix_district_key": N_(
        "Enrol the kiosk (the key comes with the answer), or copy the file of checkpoint-server keys export "
        "over and run checkpoint-kiosk district-key FILE --fingerprint '…' with the fingerprint the server "
        "printed (or --qr instead of FILE, and scan the page keys export --qr printed)."
    ),
    "keys_exist": N_("The district's keys already exist in {path}; none made."),
    "keys_missing": N_("No district keys in {path}: run checkpoint-server keys init."),
    "keys_backup": N_(
        "Back up the folder {path} now (somewhere safe, offline): losing the private keys loses every visit still sealed."
    ),
    "keys_fingerprint": N_("Key fingerprint: {fingerprint}"),
    "district_key_loaded": N_("District key loaded (fingerprint {fingerprint}); {count} earlier visits sealed."),
    "district_key_bad": N_("The file holds no usable district public key."),
    "district_key_mismatch": N_("The fingerprint does not match: this is not the key the district printed. Not loaded."),
    "district_key_missing": N_(
        "No district key yet: personal data is stored unsealed. Enrol the kiosk or load the key (checkpoint-kiosk district-key)."
    ),
    "district_key_ok": N_("Personal data sealed to key {fingerprint}."),
    "district_key_source": N_("Give the key's FILE, or --qr to scan its QR code: one of the two."),
    "district_key_scan": N_("Scan the district key's QR code with this kiosk's reader now (waiting up to {seconds} s)."),
    "district_key_no_scan": N_("No QR code was scanned within {seconds} s. Nothing loaded."),
    "district_key_not_qr": N_("That QR code is not a district key (its text starts with DK1). Nothing loaded."),
    "keys_qr_written": N_("The page to print with the key's QR code: {path}"),
    "visits_sealed": N_("The kiosk cannot unseal personal data: only the district server can (tracing)."),
}

DIRECTION_WORDS = {"in": Word(N_("entry")), "out": Word(N_("exit"))}
# A visit's kind (kiosk/contract.py) and delivery state (kiosk/store.py), in tables people read.
KIND_WORDS = {
    "cccd": N_("ID card"),
    "dcc": N_("vaccine certificate"),
    "phone": N_("phone number"),
    "opaque": N_("other code"),
    "card": N_("disease-control card"),
}
SYNC_STATE_WORDS = {"pending": N_("waiting to send"), "synced": N_("sent"), "rejected": N_("rejected")}

# The parts of a visit the contract (kiosk/contract.py) can find wrong, in a guard's words.
VISIT_PART_WORDS = {
    "fields.name": N_("the name"),
    "fields.address": N_("the address"),
    "fields.id_number": N_("the ID number"),
    "fields.old_id_number": N_("the old ID number"),
    "fields.phone": N_("the phone number"),
    "fields.date_of_birth": N_("the date of birth"),
    "fields.issue_date": N_("the issue date"),
    "fields.text": N_("the code's content"),
    "operator": N_("the operator's name"),
    "reader": N_("the reader's name"),
    "checkpoint": N_("the checkpoint code in the configuration"),
}
OTHER_PART_WORDS = N_("the code's data")


def render(code: str, lang: str = "vi", **params: object) -> str:
    """The sentence for a code in one language; unknown codes fall back to the code."""
    msgid = MESSAGES.get(code)
    return code if msgid is None else text(msgid, lang, **params)


def size_text(count: int) -> str:
    """Bytes as an admin reads them: 5.4 GiB, 1.4 MiB, 44.0 KiB, 512 B."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def render_both(code: str, **params: object) -> str:
    """Vietnamese, then English in parentheses: what the CLI prints and the logs keep."""
    return bilingual_of(lambda lang: render(code, lang, **params))
