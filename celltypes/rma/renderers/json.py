import orjson


def envelope(*, success: bool, start_row: int, num_rows: int, total_rows: int, msg, **extra) -> bytes:
    """Allen's JSON envelope, keys in Allen's order."""
    body = {
        "success": success,
        "id": 0,
        "start_row": start_row,
        "num_rows": num_rows,
        "total_rows": total_rows,
        "msg": msg,
        **extra,
    }
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def error(message: str) -> bytes:
    return envelope(success=False, start_row=0, num_rows=0, total_rows=0, msg=message)
