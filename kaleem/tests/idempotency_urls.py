"""A test-only endpoint for the idempotency tests: counts executions and can be held in flight."""

import threading

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from kaleem.idempotency import idempotent
from kaleem.tenancy.api import TenantAPIView
from kaleem.tenancy.roles import Role

EXECUTIONS: list[dict] = []
ENTERED = threading.Event()
RELEASE = threading.Event()
RELEASE.set()


class CountingView(TenantAPIView):
    write_role = Role.AGENT

    @idempotent()
    def post(self, request: Request) -> Response:
        EXECUTIONS.append(dict(request.data))
        ENTERED.set()
        RELEASE.wait(timeout=10)
        if request.data.get("fail"):
            return Response({"error": "boom"}, status=500)
        return Response({"execution": len(EXECUTIONS), "echo": request.data}, status=201)


urlpatterns = [path("api/v1/test/counter", CountingView.as_view(), name="test-counter")]
