"""Browser fixtures: the real service on a free port (uvicorn in a thread) over a private copy
of the demo corpus, with the deterministic ``extractive`` chat model, and headless Chromium
driven by Playwright. Screenshots go to ``test-artifacts/sidebar/``."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from prompts.chat import ChatModel, ModelUnavailable
from prompts.scripted import ScriptedChatModel
from retrieval.embedder import SentenceTransformerEmbedder
from service.app import create_app
from service.container import Container
from service.settings import Settings
from tests.conftest import REPO, REQUIRE_SERVICES, copy_demo_stack

CHROMIUM = Path(os.environ.get("SIDEKICK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts" / "sidebar"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(container: Container) -> Iterator[str]:
    """Run the app on ``container`` with uvicorn in a thread; yields the base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container=container), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _demo_container(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder,
                    chat: ChatModel | None = None, **overrides: object) -> Container:
    data_dir = copy_demo_stack(demo_dir, tmp_path_factory.mktemp("browser") / "data")
    settings = Settings(data_dir=data_dir, demo_mode=True, chat={"backend": "extractive"},  # type: ignore[arg-type]
                        **overrides)
    return Container(settings, embedder=embedder, chat=chat)


@pytest.fixture(scope="module")
def live_stack(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory,
               embedder: SentenceTransformerEmbedder) -> Iterator[tuple[str, Container]]:
    """The running service (demo mode, extractive chat) on a copy of the demo corpus, and its
    container, so a test can check what reached the review queue and the audit log."""
    container = _demo_container(demo_dir, tmp_path_factory, embedder)
    with serve(container) as url:
        yield url, container
    container.close()


@pytest.fixture(scope="module")
def live_server(live_stack: tuple[str, Container]) -> str:
    """Base URL of the running service."""
    return live_stack[0]


def _unavailable(messages: object, schema: object) -> str:
    raise ModelUnavailable("connection refused: the model server is down")


@pytest.fixture(scope="module")
def down_server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                embedder: SentenceTransformerEmbedder) -> Iterator[str]:
    """The same service whose chat model is unreachable (every call raises ModelUnavailable)."""
    container = _demo_container(demo_dir, tmp_path_factory, embedder,
                                chat=ScriptedChatModel(responder=_unavailable, name="down"))
    with serve(container) as url:
        yield url
    container.close()


@pytest.fixture(scope="module")
def short_session_server(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                         embedder: SentenceTransformerEmbedder) -> Iterator[str]:
    """The service with 2-second sidebar sessions, to exercise the sidebar's renewal."""
    container = _demo_container(demo_dir, tmp_path_factory, embedder, session_ttl_s=2)
    with serve(container) as url:
        yield url
    container.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (make install adds it: apt-get install chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


CAPTURE_HOST_MESSAGES = """
if (window === window.top) {
  window.__sidekickMessages = [];
  window.addEventListener('message', (e) => window.__sidekickMessages.push({origin: e.origin, data: e.data}));
}
"""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                        pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: object, live_server: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh page (1280x800, so the demo host shows the 380 px sidebar) that records what
    the host page receives by postMessage in ``window.__sidekickMessages``."""
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server)
    context.add_init_script(CAPTURE_HOST_MESSAGES)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    console: list[str] = []
    opened.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    yield opened
    if request.node.stash.get(FAILED, False):  # what the rep would have seen, for the CI artifacts
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"))
        (ARTIFACTS / f"FAILED-{request.node.name}.console.txt").write_text("\n".join(console))
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
