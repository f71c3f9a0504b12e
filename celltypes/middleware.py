import re

_LEADING_SLASHES = re.compile(r"^/{2,}")


class CollapseLeadingSlashesMiddleware:
    """`//api/v2/...` -> `/api/v2/...`: the AllenSDK sends it when base_uri ends with a slash."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("//"):
            request.path_info = _LEADING_SLASHES.sub("/", request.path_info)
            request.path = _LEADING_SLASHES.sub("/", request.path)
        return self.get_response(request)
