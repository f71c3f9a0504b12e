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
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        # A key that is not a str (or a value orjson cannot write, which fails again below). OPT_NON_STR_KEYS writes
        # such keys as strings but slows every dict down (2.8 ms instead of 1.7 ms for the 2,333-cell table), so
        # it is only the fallback; for str keys both give the same bytes.
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def error(message: str) -> bytes:
    return envelope(success=False, start_row=0, num_rows=0, total_rows=0, msg=message)
