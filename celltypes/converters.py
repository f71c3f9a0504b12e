"""URL converters shared by every urls module. Importing this module registers them (a module runs once).

`<id:name>`: a record id, at most 18 digits, so it always fits the database's signed 64-bit integer; a longer
number matches no route (404) instead of reaching the database and failing there (500).
"""

from django.urls import register_converter

ID_MAX_DIGITS = 18


class IdConverter:
    regex = f"[0-9]{{1,{ID_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
