from django.http import HttpRequest, JsonResponse

from celltypes.web.health_checks import run_health_checks


def health(request: HttpRequest) -> JsonResponse:
    """Database, broker and a worker round-trip; 503 when any of them fails."""
    checks = run_health_checks()
    ok = all(check["ok"] for check in checks.values())
    if request.GET.get("format") != "json" and "text/html" in request.headers.get("Accept", ""):
        from django.shortcuts import render

        return render(request, "web/health.html", {"checks": checks, "ok": ok}, status=200 if ok else 503)
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
