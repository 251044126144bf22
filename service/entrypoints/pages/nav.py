"""What the navigation offers a role: the same role lists the use cases and routes
check, so a link is shown exactly where its page would open.

    {% if principal | may_submit %}<a href="/filings/new">新建报送</a>{% endif %}"""

from __future__ import annotations

from service.domain.access import Principal
from service.entrypoints.api.audit import AUDIT_ROLES
from service.usecases.ingest import SUBMITTING_ROLES


def may_submit(principal: Principal | None) -> bool:
    return principal is not None and principal.role in SUBMITTING_ROLES


def may_audit(principal: Principal | None) -> bool:
    return principal is not None and principal.role in AUDIT_ROLES


FILTERS = {"may_submit": may_submit, "may_audit": may_audit}
