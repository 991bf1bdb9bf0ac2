"""Stand-in news sites on the loopback test server, built from tests/data/web (our own
pages in the shapes the real outlets use): a Founder-style e-paper in GBK, a government
news list with a date beside each link, and a CMS column page with relative links."""

from __future__ import annotations

from tests.conftest import DATA
from tests.feedserver import FeedServer, Route

WEB = DATA / "web"
EDITION = "/epaper/html/2026-11/25/"  # NOW is 25 November 2026 in Asia/Shanghai
EPAPER = "/epaper/html/{date:%Y-%m/%d}/node_1.htm"
GOV = "/gov/szdt/index.html"
CMS = "/news/szyw/"
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def page(name: str, content_type: str = "text/html") -> Route:
    return Route(body=(WEB / name).read_bytes(), headers={"Content-Type": content_type})


def install(server: FeedServer) -> None:
    """Every page of the three sites, and one broken page on each."""
    routes = server.routes
    routes["/robots.txt"] = Route(body=ROBOTS, headers={"Content-Type": "text/plain"})
    # The e-paper sends no charset in HTTP: its <meta> says gb2312, the bytes are GBK.
    routes[EDITION + "node_1.htm"] = page("epaper-node1.htm")
    routes[EDITION + "node_2.htm"] = page("epaper-node2.htm")
    routes[EDITION + "node_3.htm"] = Route(status=500)  # a broken layout page
    for n in ("1001", "1003", "1004"):
        routes[f"{EDITION}content_{n}.htm"] = page(f"epaper-content-{n}.htm")
    routes[GOV] = page("gov-list.html", "text/html; charset=utf-8")
    utf8 = "text/html; charset=utf-8"
    routes["/gov/szdt/202611/t20261124_29001.html"] = page("gov-article-29001.html", utf8)
    routes["/gov/szdt/202611/t20261121_29003.html"] = page("gov-article-29003.html", utf8)
    routes["/private/t20261120_29004.html"] = page("gov-article-29001.html", utf8)
    routes[CMS] = page("cms-list.html")
    routes["/content/2026-11/24/content_55501.htm"] = page("cms-article-55501.htm")
    routes["/content/2026-11/24/content_55502.htm"] = page("cms-article-55502.htm")
    routes["/news/show.php?id=55504"] = page("cms-article-55504.htm")
    routes["/news/show.php?id=55505"] = Route(status=500)  # a broken article page


def requested(server: FeedServer) -> list[str]:
    return [path for path, _ in server.requests]
