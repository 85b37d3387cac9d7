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
        "Another program has the database open (a sync, another command): try again in a few minutes. "
        "Nothing was changed.",
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
}

DIRECTION_WORDS = {"in": ("vào", "entry"), "out": ("ra", "exit")}


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


def render_both(code: str, **params: object) -> str:
    """Vietnamese, then English in parentheses: what the CLI prints and the logs keep."""
    return f"{render(code, 'vi', **params)} ({render(code, 'en', **params)})"
