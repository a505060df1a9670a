"""Short-lived sidebar sessions and the demo CRM host page."""

from __future__ import annotations

import json
from html import escape
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Header
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from service.auth import issue_session, sign_user_context
from service.deps import ContainerDep
from service.errors import NotFound
from service.settings import Settings

router = APIRouter(tags=["session"])

SIDEBAR_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'")
"""Everything the sidebar loads comes from the service itself (air-gapped customers: no CDN)."""


def sidebar_headers(settings: Settings, tenant: str) -> dict[str, str]:
    """Response headers of ``/sidebar``: a strict CSP whose ``frame-ancestors`` are the tenant's CRM origins.

    The browser, not the page, enforces who may embed the sidebar, so a page on another
    origin cannot frame it and trick a rep into clicking (clickjacking)."""
    ancestors = settings.sidebar.frame_ancestors.get(tenant, settings.sidebar.default_frame_ancestors)
    sources = " ".join(ancestors) or "'none'"
    return {
        "Content-Security-Policy": f"{SIDEBAR_CSP}; frame-ancestors {sources}",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }


class SessionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1, max_length=64)


class SessionPublic(BaseModel):
    token: str
    expires_in: int


@router.post("/v1/sessions", response_model=SessionPublic)
def create_session(body: SessionBody, container: ContainerDep,
                   x_sidekick_user: Annotated[str | None, Header()] = None) -> SessionPublic:
    """Trade a user context signed by the CRM host for a 15-minute agent token."""
    token, ttl = issue_session(container.keys, body.tenant, x_sidekick_user, container.settings.session_ttl_s)
    return SessionPublic(token=token, expires_in=ttl)


DEMO_USERS = {
    "u-maria": ["t-enterprise"],
    "u-james": ["t-midmarket"],
    "u-lena": ["t-enterprise", "t-midmarket"],
    "u-tom": ["t-public-sector"],
}


DEMO_CURRENT_FIELDS = {"competitor": "None", "fleet_size": 400, "decision_maker": "Dana Whitfield"}
"""What the stand-in CRM page shows as the record's current field values (field fill shows them beside proposals)."""


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
def demo_host(container: ContainerDep, user: str = "u-maria", record: str = "account:ACME-001") -> HTMLResponse:
    """A stand-in CRM record page (demo mode only): signs the user context the way a CRM
    host's backend would, embeds the sidebar, and shows the field values the sidebar hands back."""
    if not container.settings.demo_mode:
        raise NotFound("demo host page is disabled (set SIDEKICK_DEMO_MODE=true)")
    tenant = container.settings.default_tenant
    secret = container.keys.ensure_tenant(tenant)
    context = sign_user_context(secret, user, DEMO_USERS.get(user, []), ttl_s=600)
    users = "".join(f'<option {"selected" if u == user else ""}>{u}</option>' for u in DEMO_USERS)
    src = "/sidebar?" + urlencode({"tenant": tenant, "record": record})
    # json.dumps output is safe inside <script> once "</" is broken up.
    handover = json.dumps({"type": "sidekick:context", "userContext": context, "record": record,
                           "current": DEMO_CURRENT_FIELDS}).replace("</", "<\\/")
    shown = escape(record)
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo CRM · {shown}</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}}
main{{flex:1;padding:24px;background:#f4f5f7;overflow:auto}}iframe{{width:380px;border:0;border-left:1px solid #ddd}}
pre{{white-space:pre-wrap}}</style>
</head><body><main><h1>Demo CRM</h1><p>Record <code>{shown}</code></p>
<form><label>User <select name="user" onchange="this.form.submit()">{users}</select></label>
<label>Record <input name="record" value="{shown}"></label> <button>Open</button></form>
<h2>Fields handed back by Sidekick</h2><pre id="accepted">none yet</pre></main>
<iframe id="sidekick" title="Sidekick" src="{escape(src)}"></iframe>
<script>
const frame = document.getElementById('sidekick');
const accepted = {{}};
window.addEventListener('message', (e) => {{
  if (e.source !== frame.contentWindow || e.origin !== location.origin) return;
  if (e.data && e.data.type === 'sidekick:ready') {{
    frame.contentWindow.postMessage({handover}, location.origin);
  }}
  if (e.data && e.data.type === 'sidekick:fields') {{
    Object.assign(accepted, e.data.fields);
    document.getElementById('accepted').textContent = JSON.stringify(accepted, null, 2);
  }}
}});
</script></body></html>"""
    return HTMLResponse(html)
