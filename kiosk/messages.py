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
    "scan_failed": (
        "Không xử lý được mã này: chưa ghi được lượt này, hãy quét lại.",
        "This code could not be processed: the visit was not recorded, scan again.",
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
