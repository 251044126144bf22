"""The 保密审查 record a filing bound for the portal must carry (DOMAIN.md §7:
先审查、后公开). Whether the item is bound for the portal is the caller's to say.

    review_missing          no `review` in the metadata: the filing is refused
    review_not_approved     the recorded result does not approve publication
    review_date_in_future   reviewed after the day received (warning)
"""

from __future__ import annotations

import re
from datetime import date

from service.domain.findings import Finding, error, warning
from service.domain.metadata import Review

WHERE = "metadata.review"
# Results that withhold approval; anything else (同意公开, 通过, 可以公开 …) approves.
_REFUSED = re.compile(r"不同意|不予公开|不得公开|不宜公开|不能公开|暂缓|退回|未通过|不通过")


def review_findings(review: Review | None, *, received_on: date) -> list[Finding]:
    if review is None:
        return [
            error(
                "review_missing",
                "发往门户网站的报送须附保密审查记录（metadata.review：审查人 reviewer、"
                "审查日期 reviewed_on、审查结论 result），先审查、后公开",
                "A filing bound for the portal needs its secrecy review record "
                "(metadata.review: reviewer, reviewed_on, result)",
                where=WHERE,
            )
        ]
    findings: list[Finding] = []
    if _REFUSED.search(review.result):
        findings.append(
            error(
                "review_not_approved",
                f"保密审查结论“{review.result[:30]}”未同意公开",
                f"The secrecy review's result {review.result[:30]!r} does not approve publication",
                where=f"{WHERE}.result",
                excerpt=review.result[:40],
            )
        )
    if review.reviewed_on > received_on:
        findings.append(
            warning(
                "review_date_in_future",
                f"保密审查日期 {review.reviewed_on} 晚于报送日期 {received_on}",
                f"The review date {review.reviewed_on} is after the day received {received_on}",
                where=f"{WHERE}.reviewed_on",
            )
        )
    return findings
