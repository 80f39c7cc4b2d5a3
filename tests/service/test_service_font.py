"""The service's pages draw Korean with the platform's web font (served by the hub, one copy)."""

from __future__ import annotations


async def test_the_service_pages_link_the_web_font(service, person):
    alice = person("alice")
    page = await service.call("GET", "beta", token=alice.token, headers={"Accept-Language": "ko-KR"})
    assert page.status_code == 200
    assert '<link rel="stylesheet" href="/hub/oma-fonts/noto-sans-kr.css">' in page.text
