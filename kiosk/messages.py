"""Every sentence a guard or admin reads, Vietnamese first, English second.

Codes are stable (scripts and the server match on them); the words may change.
Messages never contain personal data: parameters are counts, field names, limits.
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # recognition
    "empty": ("Mã trống, hãy quét lại.", "Empty code, scan again."),
    "too_long": (
        "Mã quá dài ({length} ký tự, tối đa {limit}), hãy quét lại.",
        "Code too long ({length} characters, at most {limit}), scan again.",
    ),
    "cccd_bad_id": (
        "Mã CCCD không hợp lệ: số định danh phải có 12 chữ số.",
        "Invalid ID card code: the ID number must have 12 digits.",
    ),
    "cccd_bad_old_id": (
        "Mã CCCD không hợp lệ: số CMND cũ phải có 9 chữ số.",
        "Invalid ID card code: the old ID number must have 9 digits.",
    ),
    "cccd_bad_date": (
        "Mã CCCD không hợp lệ: {field} không phải ngày hợp lệ.",
        "Invalid ID card code: {field} is not a valid date.",
    ),
    "cccd_bad_name": (
        "Mã CCCD không hợp lệ: thiếu họ tên.",
        "Invalid ID card code: the name is missing.",
    ),
    "cccd_bad_sex": (
        "Mã CCCD không hợp lệ: giới tính phải là Nam hoặc Nữ.",
        "Invalid ID card code: sex must be Nam or Nữ.",
    ),
    "dcc_base45": (
        "Chứng nhận tiêm chủng hỏng (mã base45 sai), hãy quét lại.",
        "Damaged vaccine certificate (bad base45), scan again.",
    ),
    "dcc_zlib": (
        "Chứng nhận tiêm chủng hỏng (không giải nén được).",
        "Damaged vaccine certificate (cannot decompress).",
    ),
    "dcc_cose": (
        "Chứng nhận tiêm chủng hỏng (cấu trúc chữ ký sai).",
        "Damaged vaccine certificate (bad signature structure).",
    ),
    "dcc_payload": (
        "Chứng nhận tiêm chủng không đọc được nội dung.",
        "Vaccine certificate content cannot be read.",
    ),
    "phone_empty": ("Chưa nhập số điện thoại.", "No phone number entered."),
    "phone_chars": (
        "Số điện thoại chỉ gồm chữ số (có thể bắt đầu bằng +).",
        "A phone number has only digits (it may start with +).",
    ),
    "phone_length": (
        "Số điện thoại phải có 10 chữ số (bắt đầu bằng 0).",
        "A phone number has 10 digits (starting with 0).",
    ),
    "phone_foreign": (
        "Chỉ nhận số điện thoại Việt Nam.",
        "Only Vietnamese phone numbers are accepted.",
    ),
    "phone_invalid": (
        "Số điện thoại không tồn tại (sai đầu số).",
        "This phone number does not exist (wrong prefix).",
    ),
    # manual entry
    "id_number_invalid": (
        "Số giấy tờ phải có 12 chữ số (CCCD) hoặc 9 chữ số (CMND).",
        "The ID number must have 12 digits (CCCD) or 9 digits (old CMND).",
    ),
    "name_too_long": (
        "Họ tên quá dài (tối đa {limit} ký tự).",
        "Name too long (at most {limit} characters).",
    ),
    "name_invalid": (
        "Họ tên chỉ gồm chữ cái và khoảng trắng.",
        "A name has only letters and spaces.",
    ),
    # scan service
    "repeat": ("Đã ghi nhận lúc {time}", "Already recorded at {time}"),
    "direction_fixed": (
        "Điểm này chỉ ghi lượt {allowed}.",
        "This checkpoint records {allowed_en} only.",
    ),
    "storage_full": (
        "Bộ nhớ đã đầy: chưa ghi được lượt này. Báo quản trị viên giải phóng dung lượng.",
        "Storage is full: this visit was not recorded. Ask the admin to free space.",
    ),
    "storage_readonly": (
        "Không ghi được vào bộ nhớ (chỉ đọc): chưa ghi được lượt này. Báo quản trị viên.",
        "Storage is read-only: this visit was not recorded. Tell the admin.",
    ),
    "storage_error": (
        "Lỗi bộ nhớ: chưa ghi được lượt này. Báo quản trị viên.",
        "Storage error: this visit was not recorded. Tell the admin.",
    ),
    "storage_corrupt": (
        "Dữ liệu trên máy bị hỏng: chưa ghi được lượt này. Khởi động lại kiosk và báo quản trị viên.",
        "The stored data is damaged: this visit was not recorded. Restart the kiosk and tell the admin.",
    ),
    "visit_invalid": (
        "Chưa ghi được lượt này: {what} không hợp lệ hoặc quá dài. Ghi tay bằng số điện thoại.",
        "This visit was not recorded: {what_en} is invalid or too long. Enter it by hand with a phone number.",
    ),
    "scan_failed": (
        "Không xử lý được mã này: chưa ghi được lượt này, hãy quét lại.",
        "This code could not be processed: the visit was not recorded, scan again.",
    ),
    # enrolment and sync (the sync client; the core shows the last one in status)
    "enroll_needs_code": (
        "Cần địa chỉ máy chủ (--server) và mã đăng ký (--code), hoặc nội dung mã QR đăng ký (--qr).",
        "Give the server address (--server) and the enrolment code (--code), or the enrolment QR text (--qr).",
    ),
    "enroll_qr_invalid": (
        "Mã QR này không phải mã đăng ký kiosk (cần bắt đầu bằng cpk-enroll:1?).",
        "This QR code is not a kiosk enrolment code (it should start with cpk-enroll:1?).",
    ),
    "server_url_invalid": (
        "Địa chỉ máy chủ không hợp lệ: {server} (ví dụ https://kiemsoat.example.gov.vn).",
        "Invalid server address: {server} (e.g. https://kiemsoat.example.gov.vn).",
    ),
    "server_http_refused": (
        "Kiosk không gửi gì tới {server} vì http:// không được mã hoá: dùng địa chỉ https:// của máy chủ, hoặc "
        "đặt server.allow_insecure_http = true trong tệp cấu hình nếu đây là mạng riêng tin cậy.",
        "Nothing is sent to {server} because http:// is not encrypted: use the server's https:// address, or set "
        "server.allow_insecure_http = true in the config file if this is a private network you trust.",
    ),
    # the district server's warnings about the address it gives kiosks (server/cli.py)
    "server_public_url_plain": (
        "Cảnh báo: địa chỉ công khai của máy chủ là {url} (http:// không mã hoá, không phải máy này): kiosk sẽ "
        'từ chối đăng ký và đồng bộ qua địa chỉ đó. Đặt server.public_url = "https://…" sau reverse proxy có '
        "chứng chỉ (xem deploy/Caddyfile).",
        "Warning: the server's public address is {url} (unencrypted http://, not this machine): kiosks will "
        'refuse to enrol and sync through it. Set server.public_url = "https://…" behind a reverse proxy with a '
        "certificate (see deploy/Caddyfile).",
    ),
    "enroll_code_plain": (
        "Cảnh báo: mã QR này đưa kiosk tới {url} qua http:// không mã hoá: kiosk sẽ từ chối, trừ khi đặt "
        "server.allow_insecure_http = true. Dùng --server-url https://… hoặc đặt server.public_url.",
        "Warning: this QR code sends the kiosk to {url} over unencrypted http://: the kiosk will refuse it unless "
        "server.allow_insecure_http = true. Use --server-url https://… or set server.public_url.",
    ),
    "enroll_code_local": (
        "Lưu ý: mã QR này đưa kiosk tới {url}, là chính máy này: chỉ kiosk chạy trên máy này dùng được. Để kiosk ở "
        'điểm kiểm soát đăng ký, đặt server.public_url = "https://…" (địa chỉ kiosk tới được) trong {config}, '
        "hoặc dùng --server-url.",
        "Note: this QR code sends the kiosk to {url}, which is this machine: only a kiosk running here can use it. "
        'For kiosks at checkpoints, set server.public_url = "https://…" (an address they can reach) in {config}, '
        "or use --server-url.",
    ),
    "enroll_code_unknown": (
        "Mã đăng ký không đúng: kiểm tra lại từng ký tự.",
        "Unknown enrolment code: check every character.",
    ),
    "enroll_code_used": (
        "Mã đăng ký này đã được dùng: xin quản trị viên huyện một mã mới.",
        "This enrolment code was already used: ask the district admin for a new one.",
    ),
    "enroll_code_expired": (
        "Mã đăng ký đã hết hạn: xin quản trị viên huyện một mã mới.",
        "This enrolment code has expired: ask the district admin for a new one.",
    ),
    "enroll_not_saved": (
        "Không ghi được thông tin đăng ký vào {path}: giải phóng dung lượng rồi chạy lại checkpoint-kiosk enroll với cùng mã.",
        "Could not save the enrolment in {path}: free some space, then run checkpoint-kiosk enroll again with the same code.",
    ),
    # enrolment could not reach the server: nothing is waiting to be sent, but the code (and its
    # nonce, sync/pending_enrolment.py) is kept, so the same command again finishes it
    "enroll_server_unreachable": (
        "Không kết nối được máy chủ {server}: kiểm tra địa chỉ máy chủ và mạng. Kiosk chưa được đăng ký; mã đăng "
        "ký vẫn được giữ để thử lại: chạy lại đúng lệnh này với cùng mã (hoặc quét lại mã QR) để hoàn tất.",
        "Could not reach the server {server}: check the server address and the network. The kiosk is not enrolled "
        "yet; the enrolment code is kept for a retry: run the same command again with the same code (or scan the "
        "QR code again) to finish.",
    ),
    "enroll_server_error": (
        "Máy chủ {server} báo lỗi (HTTP {status}) khi đăng ký. Kiosk chưa được đăng ký; mã đăng ký vẫn được giữ "
        "để thử lại: vài phút nữa chạy lại đúng lệnh này với cùng mã (hoặc quét lại mã QR) để hoàn tất.",
        "The server {server} answered with an error (HTTP {status}) to the enrolment. The kiosk is not enrolled "
        "yet; the enrolment code is kept for a retry: in a few minutes, run the same command again with the same "
        "code (or scan the QR code again) to finish.",
    ),
    "not_enrolled": (
        "Kiosk chưa đăng ký với máy chủ huyện: chạy checkpoint-kiosk enroll. Các lượt vẫn được lưu trên máy.",
        "This kiosk is not enrolled with the district server: run checkpoint-kiosk enroll. Visits stay stored here.",
    ),
    "server_unreachable": (
        "Không kết nối được máy chủ {server}: kiểm tra mạng. Các lượt vẫn được lưu và sẽ gửi khi có mạng.",
        "Cannot reach the server {server}: check the network. Visits stay stored and are sent when it is back.",
    ),
    "tls_error": (
        "Không xác minh được chứng chỉ bảo mật (TLS) của máy chủ {server}: kiểm tra địa chỉ và đồng hồ của máy.",
        "The server's TLS certificate could not be verified ({server}): check the address and this machine's clock.",
    ),
    "server_error": (
        "Máy chủ báo lỗi (HTTP {status}): sẽ thử lại sau. Các lượt vẫn được lưu trên máy.",
        "The server answered with an error (HTTP {status}): will retry later. Visits stay stored here.",
    ),
    "server_bad_answer": (
        "Máy chủ trả lời không đúng định dạng: kiểm tra địa chỉ máy chủ {server}.",
        "The server's answer was not understood: check the server address {server}.",
    ),
    "token_revoked": (
        "Máy chủ đã thu hồi quyền gửi của kiosk này: cần đăng ký lại với mã mới.",
        "The server revoked this kiosk's token: enrol it again with a new code.",
    ),
    "token_rotated": (
        "Mã thiết bị của kiosk đã được thay trên máy chủ: cần đăng ký lại với mã mới.",
        "This kiosk's device token was replaced on the server: enrol it again with a new code.",
    ),
    "token_unknown": (
        "Máy chủ không nhận ra kiosk này: cần đăng ký lại với mã mới.",
        "The server does not know this kiosk: enrol it again with a new code.",
    ),
    "needs_reenrolment": (
        "Kiosk cần đăng ký lại với máy chủ trước khi gửi tiếp (checkpoint-kiosk enroll). Các lượt vẫn được lưu.",
        "This kiosk must be enrolled again before it can send (checkpoint-kiosk enroll). Visits stay stored.",
    ),
    "sync_busy": (
        "Một lần đồng bộ khác đang chạy trên kiosk này.",
        "Another sync is already running on this kiosk.",
    ),
    "sync_cancelled": (
        "Đã dừng đồng bộ: phần còn lại sẽ được gửi sau.",
        "Sync stopped: the rest will be sent later.",
    ),
    # what checkpoint-kiosk sync is doing while it is not sending (sync/notices.py, sync/progress.py)
    "sync_connecting": (
        "Đang kết nối máy chủ {host} · {pending} lượt chờ gửi",
        "connecting to {host} · {pending} visits waiting",
    ),
    "sync_waiting_turn": (
        "Đang chờ lần đồng bộ khác trên kiosk này (của ứng dụng hoặc bộ hẹn giờ) xong",
        "waiting for another sync on this kiosk (the app's or the timer's) to finish",
    ),
    "sync_retry_server_unreachable": (
        "Không kết nối được: thử lại sau {delay} s (lần {attempt}/{tries})",
        "no connection: retrying in {delay} s (try {attempt} of {tries})",
    ),
    "sync_retry_server_error": (
        "Máy chủ báo lỗi HTTP {status}: thử lại sau {delay} s (lần {attempt}/{tries})",
        "the server answered HTTP {status}: retrying in {delay} s (try {attempt} of {tries})",
    ),
    "sync_retry_server_bad_answer": (
        "Không đọc được câu trả lời của máy chủ: thử lại sau {delay} s (lần {attempt}/{tries})",
        "the server's answer could not be read: retrying in {delay} s (try {attempt} of {tries})",
    ),
    "sync_retry_rate_limited": (
        "Máy chủ yêu cầu chờ (HTTP 429): thử lại sau {delay} s (lần {attempt}/{tries})",
        "the server asked to wait (HTTP 429): retrying in {delay} s (try {attempt} of {tries})",
    ),
    # the last line of a sync that did not finish: what happened, how many still wait, what to do
    "sync_end_server_unreachable": (
        "Chưa gửi được: không kết nối được máy chủ {host} sau {tries} lần thử. Còn {pending} lượt chờ gửi, vẫn "
        "lưu trên máy. Kiểm tra mạng (cáp, Wi-Fi, 4G) và server.url rồi chạy lại checkpoint-kiosk sync; kiosk "
        "đang chạy cũng tự gửi khi máy chủ trả lời lại.",
        "Not sent: could not connect to the server {host} after {tries} tries. {pending} visits still waiting, "
        "kept on this kiosk. Check the network (cable, Wi-Fi, 4G) and server.url, then run checkpoint-kiosk sync "
        "again; a running kiosk also sends them by itself once the server answers.",
    ),
    "sync_end_server_error": (
        "Chưa gửi được: máy chủ {host} báo lỗi (HTTP {status}) sau {tries} lần thử. Còn {pending} lượt chờ gửi, "
        "vẫn lưu trên máy. Chạy lại checkpoint-kiosk sync sau ít phút; nếu vẫn lỗi, báo cán bộ CNTT huyện.",
        "Not sent: the server {host} answered with an error (HTTP {status}) after {tries} tries. {pending} visits "
        "still waiting, kept on this kiosk. Run checkpoint-kiosk sync again in a few minutes; if it persists, tell "
        "the district IT officer.",
    ),
    "sync_end_server_bad_answer": (
        "Chưa gửi được: không đọc được câu trả lời của {host} sau {tries} lần thử. Còn {pending} lượt chờ gửi, vẫn "
        "lưu trên máy. Kiểm tra server.url (đúng máy chủ huyện chưa?) rồi chạy lại checkpoint-kiosk sync.",
        "Not sent: the answers from {host} could not be read after {tries} tries. {pending} visits still waiting, "
        "kept on this kiosk. Check server.url (is it the district server?), then run checkpoint-kiosk sync again.",
    ),
    "sync_end_other": (
        "Chưa gửi xong: {reason} Còn {pending} lượt chờ gửi, vẫn lưu trên máy.",
        "Not finished: {reason} {pending} visits still waiting, kept on this kiosk.",
    ),
    "visit_too_large": (
        "Lượt ghi quá lớn để gửi lên máy chủ.",
        "This visit is too large for the server to accept.",
    ),
    "export_nothing": (
        "Không có lượt nào chờ gửi để xuất.",
        "There are no pending visits to export.",
    ),
    "export_failed": (
        "Không ghi được tệp vào {directory}: {detail}. Kiểm tra USB đã cắm và còn chỗ trống.",
        "Could not write the file to {directory}: {detail}. Check that the USB stick is mounted and has space.",
    ),
    "receipt_invalid": (
        "Tệp biên nhận hỏng hoặc không phải của kiosk này.",
        "The receipt file is damaged or belongs to another kiosk.",
    ),
    # doctor: one line per check (kiosk/doctor.py, drivers/doctor.py, sync/doctor.py), then its fix
    "doctor_config_ok": ("Cấu hình hợp lệ: {file}.", "Configuration valid: {file}."),
    "doctor_config_defaults": (
        "Chưa có tệp cấu hình: kiosk chạy với cấu hình mẫu (điểm kiểm soát thử nghiệm).",
        "No config file: the kiosk runs on built-in defaults (a demo checkpoint).",
    ),
    "doctor_config_invalid": ("Tệp cấu hình có lỗi: {error}", "The configuration is invalid: {error}"),
    "doctor_data_dir_ok": ("Thư mục dữ liệu ghi được: {path}.", "Data directory writable: {path}."),
    "doctor_data_dir_missing": (
        "Thư mục dữ liệu chưa có: {path} (được tạo khi kiosk chạy lần đầu).",
        "The data directory does not exist yet: {path} (created when the kiosk first runs).",
    ),
    "doctor_data_dir_denied": (
        "Người dùng {user} không ghi được vào thư mục dữ liệu {path}.",
        "User {user} cannot write to the data directory {path}.",
    ),
    "doctor_data_dir_readonly": (
        "Thẻ nhớ/ổ đĩa chứa {path} đang ở chế độ chỉ đọc: kiosk không ghi được lượt mới.",
        "The disk holding {path} is read-only: the kiosk cannot record new visits.",
    ),
    "doctor_disk_ok": ("Còn trống {free} trên ổ chứa dữ liệu.", "{free} free on the data disk."),
    "doctor_disk_low": (
        "Sắp hết chỗ trống: còn {free} (nên còn trên {warn}).",
        "Disk space is running low: {free} free (keep more than {warn}).",
    ),
    "doctor_disk_full": (
        "Hết chỗ trống: còn {free}; kiosk không ghi được lượt mới.",
        "The disk is full: {free} free; the kiosk cannot record new visits.",
    ),
    "doctor_db_ok": ("Cơ sở dữ liệu nguyên vẹn (quick_check): {path}.", "Database intact (quick_check): {path}."),
    "doctor_db_missing": (
        "Chưa có cơ sở dữ liệu: được tạo ở lượt quét đầu tiên ({path}).",
        "No database yet: it is created at the first scan ({path}).",
    ),
    "doctor_db_corrupt": ("Cơ sở dữ liệu bị hỏng: {path} ({detail}).", "The database is corrupt: {path} ({detail})."),
    "doctor_db_unreadable": (
        "Người dùng {user} không mở được cơ sở dữ liệu {path} ({detail}).",
        "User {user} cannot open the database {path} ({detail}).",
    ),
    "doctor_db_quarantined": (
        "Có cơ sở dữ liệu hỏng đã được chuyển sang bên: {path}.",
        "A corrupt database was moved aside: {path}.",
    ),
    "doctor_clock_ok": ("Đồng hồ đã đồng bộ (nguồn {source}: {detail}).", "Clock synchronised ({source}: {detail})."),
    "doctor_clock_unsynced": (
        "Đồng hồ chưa đồng bộ (nguồn {source}: {detail}); giờ các lượt sẽ được sửa khi biết giờ máy chủ.",
        "Clock not synchronised ({source}: {detail}); visit times are corrected once the server's time is known.",
    ),
    "doctor_clock_unknown": (
        "Không biết đồng hồ đã đồng bộ chưa: không dịch vụ thời gian nào trả lời.",
        "Cannot tell whether the clock is synchronised: no time service answered.",
    ),
    "doctor_outbox_ok": (
        "Chờ gửi {pending}, bị từ chối {rejected}; đồng bộ thành công gần nhất: {last}.",
        "Pending {pending}, rejected {rejected}; last successful sync: {last}.",
    ),
    "doctor_outbox_rejected": (
        "Máy chủ đã từ chối {rejected} lượt, các lượt này chưa đến được huyện ({codes}); "
        "chờ gửi {pending}; đồng bộ thành công gần nhất: {last}.",
        "The server rejected {rejected} visits; they have not reached the district ({codes}); "
        "pending {pending}; last successful sync: {last}.",
    ),
    "doctor_outbox_stale": (
        "{pending} lượt chờ gửi; đồng bộ thành công gần nhất: {last}.",
        "{pending} visits waiting to be sent; last successful sync: {last}.",
    ),
    "doctor_outbox_unknown": (
        "Không đọc được hàng chờ gửi (xem dòng cơ sở dữ liệu).",
        "The outbox cannot be read (see the database line).",
    ),
    "doctor_not_enrolled": (
        "Kiosk chưa đăng ký với máy chủ huyện ({pending} lượt chờ gửi).",
        "This kiosk is not enrolled with the district server ({pending} visits pending).",
    ),
    "doctor_needs_reenrolment": (
        "Máy chủ đã từ chối mã thiết bị của kiosk: {pending} lượt không gửi được.",
        "The server refused this kiosk's device token: {pending} visits cannot be sent.",
    ),
    "doctor_readers_none": (
        "Không bật đầu đọc nào (chỉ nhận đầu đọc kiểu bàn phím gõ vào cửa sổ ứng dụng).",
        "No reader is enabled (only keyboard-mode readers typing into the app's window work).",
    ),
    "doctor_reader_ok": ("Đầu đọc {kind} mở được: {path}.", "The {kind} reader opens: {path}."),
    "doctor_reader_missing": (
        "Không thấy đầu đọc {kind} nào khớp {wanted}.",
        "No {kind} reader matches {wanted}.",
    ),
    "doctor_reader_denied": (
        "Người dùng {user} không mở được {path}: không có quyền (cần nhóm {group}).",
        "User {user} cannot open {path}: permission denied (needs group {group}).",
    ),
    "doctor_reader_error": ("Không mở được {path}: {detail}.", "Cannot open {path}: {detail}."),
    "doctor_camera_ok": (
        "Camera {device} cho khung hình {width}×{height} và giải mã được ({codes} mã QR trong khung).",
        "Camera {device} gives {width}×{height} frames and decodes them ({codes} QR codes in view).",
    ),
    "doctor_camera_failed": ("Camera {device} không dùng được: {detail}.", "Camera {device} is not usable: {detail}."),
    "doctor_server_none": (
        "Chưa có máy chủ để kiểm tra (kiosk chưa đăng ký, server.url trống).",
        "No server to check (the kiosk is not enrolled and server.url is empty).",
    ),
    "doctor_server_ok": ("Máy chủ {server} trả lời.", "The server {server} answers."),
    "doctor_server_unreachable": (
        "Không kết nối được máy chủ {server} (chờ tối đa {seconds} giây).",
        "Cannot reach the server {server} (waited up to {seconds} s).",
    ),
    "doctor_server_bad_answer": (
        "{server} trả lời nhưng không phải máy chủ kiểm soát ({detail}).",
        "{server} answers but is not a checkpoint server ({detail}).",
    ),
    "doctor_tls_ok": ("Chứng chỉ TLS của máy chủ hợp lệ.", "The server's TLS certificate is valid."),
    "doctor_tls_plain": (
        "Kết nối tới máy chủ {server} không được mã hoá (http://, do server.allow_insecure_http = true).",
        "The connection to the server {server} is not encrypted (http://, allowed by server.allow_insecure_http = true).",
    ),
    "doctor_tls_loopback": (
        "Máy chủ {server} ở ngay trên máy này (http:// không ra mạng).",
        "The server {server} is on this machine (http:// does not leave it).",
    ),
    "doctor_tls_refused": (
        "Kiosk không gửi gì tới {server}: http:// không được mã hoá và máy chủ không ở trên máy này.",
        "Nothing is sent to {server}: http:// is not encrypted and the server is not this machine.",
    ),
    "doctor_tls_invalid": (
        "Chứng chỉ TLS của máy chủ {server} không hợp lệ với kiosk này.",
        "The TLS certificate of {server} is not valid for this kiosk.",
    ),
    "doctor_server_clock_ok": (
        "Đồng hồ khớp giờ máy chủ (lệch {offset}).",
        "The clock agrees with the server's (off by {offset}).",
    ),
    "doctor_server_clock_off": (
        "Đồng hồ lệch giờ máy chủ {offset} (kiosk {direction}).",
        "The clock is {offset} off the server's (the kiosk is {direction_en}).",
    ),
    "doctor_token_ok": (
        "Máy chủ nhận mã thiết bị: {device_id} · {checkpoint}.",
        "The server accepts the device token: {device_id} · {checkpoint}.",
    ),
    "doctor_token_refused": (
        "Máy chủ từ chối mã thiết bị của kiosk ({reason}).",
        "The server refuses this kiosk's device token ({reason}).",
    ),
    "doctor_check_timeout": (
        "Phần kiểm tra {check} không xong sau {seconds} giây.",
        "The {check} check did not finish within {seconds} s.",
    ),
    "doctor_check_crashed": ("Phần kiểm tra {check} bị lỗi ({kind}).", "The {check} check failed ({kind})."),
    # doctor: the one-line fixes
    "fix_config_defaults": (
        "Cài dịch vụ kiosk: sudo ./setup.sh --service (tạo /etc/checkpoint-kiosk/config.toml).",
        "Install the kiosk service: sudo ./setup.sh --service (creates /etc/checkpoint-kiosk/config.toml).",
    ),
    "fix_config_invalid": (
        "Sửa khoá được nêu trong tệp cấu hình (xem config.example.toml), rồi chạy lại checkpoint-kiosk doctor.",
        "Fix the key named in the config file (see config.example.toml), then run checkpoint-kiosk doctor again.",
    ),
    "fix_data_dir_missing": (
        "Chạy kiosk một lần, hoặc sudo ./setup.sh --service (tạo /var/lib/checkpoint-kiosk).",
        "Run the kiosk once, or sudo ./setup.sh --service (creates /var/lib/checkpoint-kiosk).",
    ),
    "fix_data_dir_denied": (
        "sudo chown -R {user} {path} (hoặc chạy doctor bằng người dùng của kiosk: sudo -u checkpoint-kiosk).",
        "sudo chown -R {user} {path} (or run doctor as the kiosk's user: sudo -u checkpoint-kiosk).",
    ),
    "fix_readonly": (
        "Sao lưu dữ liệu, tắt máy, kiểm tra hoặc thay thẻ nhớ (thẻ chỉ đọc thường sắp hỏng).",
        "Back up the data, shut down, check or replace the SD card (a read-only card is usually failing).",
    ),
    "fix_disk": (
        "Giải phóng dung lượng: sudo journalctl --vacuum-size=50M và xoá tệp không cần; lượt đã gửi tự xoá sau retention_days.",
        "Free space: sudo journalctl --vacuum-size=50M and delete unneeded files; sent visits go after retention_days.",
    ),
    "fix_db_corrupt": (
        "Khởi động lại kiosk (sudo systemctl restart checkpoint-kiosk): tệp hỏng được chuyển sang bên, không bị xoá; "
        "khôi phục bản sao lưu bằng checkpoint-kiosk restore.",
        "Restart the kiosk (sudo systemctl restart checkpoint-kiosk): the corrupt file is moved aside, never deleted; "
        "restore a backup with checkpoint-kiosk restore.",
    ),
    "fix_db_quarantined": (
        "Lấy lại các lượt chưa gửi trong tệp này: checkpoint-kiosk recover {path} (tệp vẫn được giữ lại).",
        "Get back the unsent visits it holds: checkpoint-kiosk recover {path} (the file is still kept).",
    ),
    "fix_clock": (
        "Kiểm tra mạng và bật đồng bộ giờ: sudo timedatectl set-ntp true.",
        "Check the network and turn on time sync: sudo timedatectl set-ntp true.",
    ),
    "fix_clock_service": (
        "Cài và bật dịch vụ giờ: sudo apt install systemd-timesyncd && sudo timedatectl set-ntp true.",
        "Install and turn on a time service: sudo apt install systemd-timesyncd && sudo timedatectl set-ntp true.",
    ),
    "fix_clock_offset": (
        "Bật đồng bộ giờ (sudo timedatectl set-ntp true) hoặc đặt giờ đúng: sudo date -s 'YYYY-MM-DD HH:MM'.",
        "Turn on time sync (sudo timedatectl set-ntp true) or set the right time: sudo date -s 'YYYY-MM-DD HH:MM'.",
    ),
    "sync_rejected_now": (
        "Máy chủ đã từ chối {count} lượt trong lần đồng bộ này, các lượt này chưa đến được huyện",
        "the server rejected {count} visits in this sync; they have not reached the district",
    ),
    "sync_rejected_earlier": (
        "{count} lượt bị máy chủ từ chối từ trước vẫn nằm trên kiosk, chưa đến được huyện",
        "{count} visits the server rejected earlier are still on this kiosk, not at the district",
    ),
    "rejected_other_reasons": ("thêm {count} lý do khác", "{count} more reason(s)"),
    "see_rejected": ("Xem", "see"),
    "fix_rejected": (
        "Xem lý do: checkpoint-kiosk visits --rejected (hoặc Quản trị > Đồng bộ); sửa nguyên nhân rồi gửi lại: "
        "checkpoint-kiosk sync --retry-rejected; không sửa được thì báo huyện.",
        "See why: checkpoint-kiosk visits --rejected (or Admin > Sync); fix the cause, then resend: "
        "checkpoint-kiosk sync --retry-rejected; if it cannot be fixed, tell the district.",
    ),
    "fix_stale": (
        "Kiểm tra mạng rồi chạy checkpoint-kiosk sync; không có mạng: checkpoint-kiosk export --to /media/usb.",
        "Check the network, then run checkpoint-kiosk sync; without a network: checkpoint-kiosk export --to /media/usb.",
    ),
    "fix_district_key": (
        "Đăng ký thiết bị (khoá đến cùng câu trả lời), hoặc chép tệp của checkpoint-server keys export sang "
        "rồi chạy checkpoint-kiosk district-key TỆP --fingerprint '…' với dấu vân tay máy chủ in ra.",
        "Enrol the kiosk (the key comes with the answer), or copy the file of checkpoint-server keys export over and run "
        "checkpoint-kiosk district-key FILE --fingerprint '…' with the fingerprint the server printed.",
    ),
    "fix_enrol": (
        "Xin mã đăng ký mới ở huyện rồi chạy checkpoint-kiosk enroll --qr '…' (hoặc Quản trị > Đăng ký).",
        "Get a new enrolment code from the district, then run checkpoint-kiosk enroll --qr '…' (or Admin > Enrolment).",
    ),
    "fix_readers_none": (
        "Bật đầu đọc trong tệp cấu hình: scanners.serial.enabled = true (hoặc hid, camera).",
        "Enable a reader in the config file: scanners.serial.enabled = true (or hid, camera).",
    ),
    "fix_reader_missing": (
        "Cắm đầu đọc (chế độ serial/USB-CDC cho CCCD) và xem checkpoint-kiosk scanners.",
        "Plug the reader in (serial/USB-CDC mode for ID cards) and see checkpoint-kiosk scanners.",
    ),
    "fix_reader_denied": (
        "sudo usermod -aG {group} {user} rồi khởi động lại kiosk; hoặc sudo ./setup.sh --service (người dùng và luật udev).",
        "sudo usermod -aG {group} {user}, then restart the kiosk; or sudo ./setup.sh --service (user and udev rules).",
    ),
    "fix_reader_error": (
        "Rút ra cắm lại đầu đọc; xem checkpoint-kiosk scanners.",
        "Unplug and replug the reader; see checkpoint-kiosk scanners.",
    ),
    "fix_camera": (
        "Kiểm tra cáp và scanners.camera.device; quyền: sudo usermod -aG video {user}.",
        "Check the cable and scanners.camera.device; permission: sudo usermod -aG video {user}.",
    ),
    "fix_server_unreachable": (
        "Kiểm tra mạng (cáp, Wi-Fi, 4G) và server.url; các lượt vẫn được lưu trên máy.",
        "Check the network (cable, Wi-Fi, 4G) and server.url; visits stay stored here.",
    ),
    "fix_server_address": (
        "Kiểm tra server.url trong tệp cấu hình (ví dụ https://kiemsoat.example.gov.vn).",
        "Check server.url in the config file (e.g. https://kiemsoat.example.gov.vn).",
    ),
    "fix_tls_plain": (
        "Dùng https:// qua reverse proxy có chứng chỉ (xem deploy/).",
        "Use https:// through a reverse proxy with a certificate (see deploy/).",
    ),
    "fix_tls_refused": (
        "Dùng địa chỉ https:// của máy chủ (server.url, hoặc đăng ký lại bằng mã mới); chỉ trên mạng riêng tin cậy "
        "mới đặt server.allow_insecure_http = true.",
        "Use the server's https:// address (server.url, or enrol again with a new code); only on a private network "
        "you trust, set server.allow_insecure_http = true.",
    ),
    "fix_tls_invalid": (
        'Huyện dùng CA riêng: đặt server.ca_file = "/etc/checkpoint-kiosk/ca.pem" trong tệp cấu hình; kiểm tra cả đồng hồ.',
        'If the district uses its own CA: set server.ca_file = "/etc/checkpoint-kiosk/ca.pem" in the config file; '
        "check the clock too.",
    ),
    "fix_check_again": (
        "Chạy lại checkpoint-kiosk doctor; nếu vẫn vậy, báo cán bộ CNTT huyện.",
        "Run checkpoint-kiosk doctor again; if it persists, tell the district IT officer.",
    ),
    # backup, restore and damaged databases (kiosk/backup.py, kiosk/quarantine.py)
    "database_quarantined": (
        "CƠ SỞ DỮ LIỆU BỊ HỎNG: đã chuyển sang {path} (không xoá) và bắt đầu cơ sở dữ liệu mới. "
        "Báo quản trị viên: các lượt chưa gửi có thể nằm trong tệp đó.",
        "DATABASE DAMAGED: moved to {path} (not deleted) and a new one started. "
        "Tell the admin: visits not yet sent may be in that file.",
    ),
    "backup_no_folder": (
        "Không có thư mục {directory}: kiểm tra USB đã cắm và đã được gắn (mount).",
        "There is no folder {directory}: check that the USB stick is plugged in and mounted.",
    ),
    "backup_readonly": (
        "Không ghi được vào {directory} (chỉ đọc hoặc không có quyền ghi): dùng USB khác hoặc tắt khoá chống ghi.",
        "Cannot write to {directory} (read-only or no permission): use another USB stick or slide its write-protect off.",
    ),
    "backup_full": (
        "{directory} không đủ chỗ trống (cần khoảng {size}): xoá bớt tệp hoặc dùng USB khác.",
        "{directory} is full (about {size} needed): delete some files or use another USB stick.",
    ),
    "backup_failed": (
        "Không sao lưu được vào {directory}: {detail}. Chưa có tệp sao lưu nào được ghi.",
        "The backup to {directory} failed: {detail}. No backup file was written.",
    ),
    "restore_not_kiosk": (
        "{file} không phải bản sao lưu của kiosk: chưa thay đổi gì.",
        "{file} is not a kiosk backup: nothing was changed.",
    ),
    "restore_damaged": (
        "Bản sao lưu {file} bị hỏng (kiểm tra toàn vẹn thất bại): chưa thay đổi gì, hãy dùng bản sao lưu khác.",
        "The backup {file} is damaged (integrity check failed): nothing was changed, use another backup.",
    ),
    "restore_newer": (
        "Bản sao lưu {file} do phiên bản phần mềm mới hơn tạo ra (lược đồ {version} > {supported}): "
        "hãy cập nhật phần mềm trước. Chưa thay đổi gì.",
        "The backup {file} was made by newer software (schema {version} > {supported}): update this kiosk first. "
        "Nothing was changed.",
    ),
    "restore_pending": (
        "Máy đang có {count} lượt chưa gửi lên máy chủ mà bản sao lưu không có: đồng bộ hoặc xuất ra USB trước, "
        "hoặc thêm --force (dữ liệu hiện tại vẫn được giữ lại bên cạnh).",
        "This kiosk holds {count} visits not yet sent to the server that the backup does not have: sync or export "
        "them first, or add --force (the current data is still kept aside).",
    ),
    "restore_in_use": (
        "Một chương trình khác đang mở cơ sở dữ liệu (đồng bộ, lệnh khác): thử lại sau ít phút. Chưa thay đổi gì.",
        "Another program has the database open (a sync, another command): try again in a few minutes. Nothing was changed.",
    ),
    "recover_is_live": (
        "{file} là cơ sở dữ liệu đang dùng, không phải tệp hỏng được giữ lại (visits.sqlite3.corrupt-…).",
        "{file} is the database in use, not a damaged file kept aside (visits.sqlite3.corrupt-…).",
    ),
    "kiosk_running": (
        "Kiosk đang chạy trên thư mục dữ liệu {data_dir} (tiến trình {pid}): dừng kiosk trước "
        "(sudo systemctl stop checkpoint-kiosk).",
        "A kiosk is already running on the data directory {data_dir} (process {pid}): stop it first "
        "(sudo systemctl stop checkpoint-kiosk).",
    ),
    "run_no_screen": (
        "Không có màn hình cho ứng dụng: phiên SSH này không có DISPLAY hay WAYLAND_DISPLAY, ứng dụng sẽ chạy mà "
        "không ai thấy. Dùng checkpoint-kiosk run --headless (chỉ các đầu đọc) hoặc run --terminal (quét ngay trong "
        "cửa sổ này); mở ứng dụng trên màn hình của kiosk: sudo systemctl start checkpoint-kiosk (hoặc đặt "
        "SDL_VIDEODRIVER=kmsdrm nếu đúng là muốn vậy).",
        "No screen for the app: this SSH session has no DISPLAY or WAYLAND_DISPLAY, so the app would run where "
        "nobody sees it. Use checkpoint-kiosk run --headless (the readers only) or run --terminal (scans in this "
        "terminal); to open the app on the kiosk's own screen: sudo systemctl start checkpoint-kiosk (or set "
        "SDL_VIDEODRIVER=kmsdrm if that is what you mean).",
    ),
    # the log of a running kiosk (drivers/, ui/sounds.py)
    "reader_unplugged": (
        "Đầu đọc {device} đã bị rút ra hoặc mất kết nối; đang chờ cắm lại",
        "reader {device} unplugged; waiting for it to come back",
    ),
    "sounds_no_device": (
        "Không có thiết bị âm thanh: tắt tiếng, kiosk vẫn chạy bình thường",
        "no sound device: sounds are off, the kiosk works as usual",
    ),
    # the district's keys (server/keys.py, kiosk/seal.py)
    "keys_exist": (
        "Khoá của huyện đã có sẵn trong {path}; không tạo mới.",
        "The district's keys already exist in {path}; none made.",
    ),
    "keys_missing": (
        "Chưa có khoá của huyện trong {path}: chạy checkpoint-server keys init.",
        "No district keys in {path}: run checkpoint-server keys init.",
    ),
    "keys_backup": (
        "Sao lưu thư mục {path} ngay (ra nơi an toàn, ngoại tuyến): mất khoá riêng là mất mọi lượt ghi còn niêm phong.",
        "Back up the folder {path} now (somewhere safe, offline): losing the private keys loses every visit still sealed.",
    ),
    "keys_fingerprint": ("Dấu vân tay khoá: {fingerprint}", "Key fingerprint: {fingerprint}"),
    "district_key_loaded": (
        "Đã nạp khoá của huyện (dấu vân tay {fingerprint}); đã niêm phong {count} lượt ghi cũ.",
        "District key loaded (fingerprint {fingerprint}); {count} earlier visits sealed.",
    ),
    "district_key_bad": (
        "Tệp không chứa khoá công khai của huyện dùng được.",
        "The file holds no usable district public key.",
    ),
    "district_key_mismatch": (
        "Dấu vân tay không khớp: khoá này không phải khoá huyện đã in ra. Không nạp.",
        "The fingerprint does not match: this is not the key the district printed. Not loaded.",
    ),
    "district_key_missing": (
        "Chưa có khoá của huyện: dữ liệu cá nhân đang được lưu chưa niêm phong. Đăng ký thiết bị hoặc nạp khoá "
        "(checkpoint-kiosk district-key).",
        "No district key yet: personal data is stored unsealed. Enrol the kiosk or load the key (checkpoint-kiosk district-key).",
    ),
    "district_key_ok": ("Dữ liệu cá nhân được niêm phong bằng khoá {fingerprint}.", "Personal data sealed to key {fingerprint}."),
    "visits_sealed": (
        "Thiết bị không mở được dữ liệu đã niêm phong: chỉ máy chủ của huyện mở được (tra cứu).",
        "The kiosk cannot unseal personal data: only the district server can (tracing).",
    ),
    # the CLI (kiosk/lazygroup.py): a command whose module cannot be imported on this machine
    "command_unavailable": (
        "Lệnh {command} không dùng được trên máy này, thiếu thành phần cần thiết: {error}.",
        "The {command} command is not available on this machine, a part it needs is missing: {error}.",
    ),
}

DIRECTION_WORDS = {"in": ("vào", "entry"), "out": ("ra", "exit")}

# The parts of a visit the contract (kiosk/contract.py) can find wrong, in a guard's words.
VISIT_PART_WORDS = {
    "fields.name": ("họ tên", "the name"),
    "fields.address": ("địa chỉ", "the address"),
    "fields.id_number": ("số định danh", "the ID number"),
    "fields.old_id_number": ("số CMND cũ", "the old ID number"),
    "fields.phone": ("số điện thoại", "the phone number"),
    "fields.date_of_birth": ("ngày sinh", "the date of birth"),
    "fields.issue_date": ("ngày cấp", "the issue date"),
    "fields.text": ("nội dung mã", "the code's content"),
    "operator": ("tên người trực", "the operator's name"),
    "reader": ("tên đầu đọc", "the reader's name"),
    "checkpoint": ("mã điểm kiểm soát trong cấu hình", "the checkpoint code in the configuration"),
}
OTHER_PART_WORDS = ("dữ liệu trong mã", "the code's data")


def render(code: str, lang: str = "vi", **params: object) -> str:
    """The sentence for a code in one language; unknown codes fall back to the code."""
    pair = MESSAGES.get(code)
    if pair is None:
        return code
    template = pair[0] if lang == "vi" else pair[1]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def size_text(count: int) -> str:
    """Bytes as an admin reads them: 5.4 GiB, 1.4 MiB, 44.0 KiB, 512 B."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def render_both(code: str, **params: object) -> str:
    """Vietnamese, then English in parentheses: what the CLI prints and the logs keep."""
    return f"{render(code, 'vi', **params)} ({render(code, 'en', **params)})"
