"""The destinations the service publishes to: one entry each. Adding a destination is
one `DestinationSpec` here and one adapter module in service/delivery/ (the WeChat
official account of issue 14 is the test of that).

    spec = destination_spec(Destination.PORTAL)
    spec.limits             what it can take (checked at ingest)
    spec.capabilities       what its adapter does besides delivering (its class says)
    spec.url(settings)      where it is, None when not configured
    spec.build(settings, url, registry)    its adapter
    spec.simulator(settings)               in development, a simulator for it
    spec.after              the destinations whose receipts it needs first
    spec.problems(settings) why production must not start with it as configured
    spec.account_fields     what a body's own account there holds (the registry of bodies)
    spec.account_options    what such an account may hold besides (off when not given)
    spec.limits.needs_account   a body without an account there skips it (未开通)

The composition root (service.bootstrap) is the only reader: it hands use cases the
limits and the adapters, never this registry, so no use case imports an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from service.categories import portal_channels
from service.delivery.legal_platform import LegalPlatformAdapter
from service.delivery.port import DestinationAdapter
from service.delivery.portal import ATTACHMENT_KINDS as PORTAL_ATTACHMENT_KINDS
from service.delivery.portal import PortalAdapter
from service.delivery.wechat import WeChatAdapter
from service.domain.destinations import Capability, DestinationLimits
from service.domain.filing import Category, Destination
from service.domain.org import OrgRegistry

if TYPE_CHECKING:
    from service.settings import Settings

MiB = 1024 * 1024
Simulator = Callable[["Settings"], AbstractContextManager[Any]]  # the running one has `.url`


@dataclass(frozen=True)
class DestinationSpec:
    destination: Destination
    limits: DestinationLimits
    adapter: type[DestinationAdapter]
    build: Callable[[Settings, str, OrgRegistry], DestinationAdapter]
    url: Callable[[Settings], str | None]
    simulator: Simulator | None = None
    after: tuple[Destination, ...] = ()
    account_fields: tuple[str, ...] = ()  # a body's own account there (service.orgs)
    account_options: tuple[str, ...] = ()  # optional switches of such an account (false)
    problems: Callable[[Settings], list[str]] = field(default=lambda _: [])

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.adapter.capabilities


_SPECS: dict[Destination, DestinationSpec] = {}


def register(spec: DestinationSpec) -> DestinationSpec:
    _SPECS[Destination.admit(spec.destination)] = spec
    return spec


def unregister(destination: Destination) -> None:
    """For tests that register a destination of their own."""
    _SPECS.pop(destination, None)
    Destination.unregister(destination.value)


def destination_spec(destination: Destination | str) -> DestinationSpec:
    return _SPECS[Destination(destination)]


def destination_specs() -> Iterator[DestinationSpec]:
    return iter(list(_SPECS.values()))


def account_fields() -> dict[str, tuple[str, ...]]:
    return {s.destination.value: s.account_fields for s in destination_specs() if s.account_fields}


def account_options() -> dict[str, tuple[str, ...]]:
    return {
        s.destination.value: s.account_options for s in destination_specs() if s.account_options
    }


def registered_bodies(settings: Settings) -> OrgRegistry:
    """The registry of bodies, each account checked against its destination's fields."""
    from service.orgs import load_registry

    return load_registry(settings.orgs_file, None, account_fields(), account_options())


def route_problems(routes: Mapping[Category, Sequence[Destination]]) -> list[str]:
    """A route naming a destination without the destinations it needs first (`after`):
    every delivery there would fail waiting for a receipt that never comes."""
    return [
        f"DISCLOSURE_ROUTES: {category} goes to {spec.destination} without {needed}, "
        f"which {spec.destination} needs first (add {needed} to that route)"
        for category, targets in routes.items()
        for spec in destination_specs()
        if spec.destination in targets
        for needed in spec.after
        if needed not in targets
    ]


def limits_by_destination() -> dict[Destination, DestinationLimits]:
    return {spec.destination: spec.limits for spec in destination_specs()}


# -- the portal (门户网站) ------------------------------------------------------------------


def _portal(settings: Settings, url: str, _: OrgRegistry) -> DestinationAdapter:
    from service.delivery.portal import PortalConfig

    return PortalAdapter(
        PortalConfig(
            base_url=url,
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
            channels=_portal_channels(settings),
            timeout_s=settings.portal_timeout_s,
            quick_tries=settings.quick_tries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
    )


def _portal_channels(settings: Settings) -> dict[str, str]:
    return {**portal_channels(), **settings.portal_channels}


def _portal_simulator(settings: Settings) -> AbstractContextManager[Any]:
    """A portal that has a channel for every kind the service knows."""
    from service.simulators.portal import SimulatorConfig, start_in_thread

    return start_in_thread(
        "127.0.0.1",
        0,
        SimulatorConfig(
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
            channels=tuple(sorted(set(_portal_channels(settings).values()))),
        ),
    )


def _portal_problems(settings: Settings) -> list[str]:
    from service.settings import is_weak_secret

    problems = []
    if not settings.portal_url:
        problems.append("DISCLOSURE_PORTAL_URL is not set (the simulator runs only in development)")
    if is_weak_secret(settings.portal_client_secret.get_secret_value()):
        problems.append("DISCLOSURE_PORTAL_CLIENT_SECRET is empty, a placeholder or weak")
    return problems


PORTAL = register(
    DestinationSpec(
        destination=Destination.PORTAL,
        limits=DestinationLimits(
            Destination.PORTAL,
            attachment_kinds=PORTAL_ATTACHMENT_KINDS,
            text_only_kinds=frozenset({"txt", "md"}),
            max_bytes=50 * MiB,
        ),
        adapter=PortalAdapter,
        build=_portal,
        url=lambda settings: settings.portal_url,
        simulator=_portal_simulator,
        problems=_portal_problems,
    )
)


# -- the legal-adviser platform (天津市法律顾问管理服务平台) ----------------------------------


def _legal_platform(settings: Settings, url: str, registry: OrgRegistry) -> DestinationAdapter:
    from service.delivery.legal_platform import AppCredentials, LegalPlatformConfig

    return LegalPlatformAdapter(
        LegalPlatformConfig(
            base_url=url,
            app_key=settings.legal_platform_app_key,
            app_secret=settings.legal_platform_app_secret.get_secret_value(),
            body_credentials={
                body.org_code: AppCredentials(account["app_key"], account["app_secret"])
                for body in registry.bodies.values()
                if (account := body.accounts.get(Destination.LEGAL_PLATFORM.value))
            },
            timeout_s=settings.legal_platform_timeout_s,
            quick_tries=settings.quick_tries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
    )


def _legal_simulator(settings: Settings) -> AbstractContextManager[Any]:
    from service.simulators.legal_platform import SimulatorConfig, start_in_thread

    secret = settings.legal_platform_app_secret.get_secret_value()
    # In the demo a reviewer accepts each report a minute after it arrives.
    return start_in_thread(
        "127.0.0.1",
        0,
        SimulatorConfig(
            apps={settings.legal_platform_app_key: secret},
            review_after_s=60.0,
            review_decision="ACCEPTED",
        ),
    )


def _legal_platform_problems(settings: Settings) -> list[str]:
    from service.settings import is_weak_secret

    problems = []
    if not settings.legal_platform_url:
        problems.append(
            "DISCLOSURE_LEGAL_PLATFORM_URL is not set (the simulator runs only in development)"
        )
    if is_weak_secret(settings.legal_platform_app_secret.get_secret_value()):
        problems.append("DISCLOSURE_LEGAL_PLATFORM_APP_SECRET is empty, a placeholder or weak")
    return problems


LEGAL_PLATFORM = register(
    DestinationSpec(
        destination=Destination.LEGAL_PLATFORM,
        limits=DestinationLimits(
            Destination.LEGAL_PLATFORM,
            attachment_kinds=frozenset({"pdf", "ofd", "docx"}),
            text_only_kinds=frozenset(),
            max_bytes=20 * MiB,
        ),
        adapter=LegalPlatformAdapter,
        build=_legal_platform,
        url=lambda settings: settings.legal_platform_url,
        simulator=_legal_simulator,
        account_fields=("app_key", "app_secret"),
        problems=_legal_platform_problems,
    )
)


# -- the body's WeChat official account (微信公众号, issue 14) ------------------------------------

WECHAT_DESTINATION = Destination.register("wechat", "微信公众号", "the WeChat official account")
# What the reader gets paragraphs from: an article is built from them, never from the file.
PARAGRAPH_KINDS = frozenset({"docx", "pdf", "ofd", "txt", "md"})


def _wechat(settings: Settings, url: str, registry: OrgRegistry) -> DestinationAdapter:
    from service.delivery.wechat import WeChatAccount, WeChatConfig, cover_from_file

    default_cover = settings.wechat_cover_file
    return WeChatAdapter(
        WeChatConfig(
            base_url=url,
            accounts={
                body.org_code: WeChatAccount(
                    account["appid"], account["secret"], account.get("mass_send") == "true"
                )
                for body in registry.bodies.values()
                if (account := body.accounts.get(WECHAT_DESTINATION.value))
            },
            cover=cover_from_file(default_cover) if default_cover else None,
            covers={org: cover_from_file(path) for org, path in settings.wechat_covers.items()},
            timeout_s=settings.wechat_timeout_s,
            quick_tries=settings.quick_tries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
            lost_submit_grace_s=settings.wechat_lost_submit_grace_s,
        )
    )


def _wechat_simulator(settings: Settings) -> AbstractContextManager[Any]:
    """An official account for every body the registry of bodies gives one."""
    from service.simulators.wechat import SimulatorConfig, start_in_thread

    accounts = {
        account["appid"]: account["secret"]
        for body in registered_bodies(settings).bodies.values()
        if (account := body.accounts.get(WECHAT_DESTINATION.value))
    }
    return start_in_thread("127.0.0.1", 0, SimulatorConfig(accounts=accounts))


def _wechat_problems(settings: Settings) -> list[str]:
    from service.delivery.wechat import cover_from_file

    problems = []
    if not settings.wechat_url:
        problems.append("DISCLOSURE_WECHAT_URL is not set (the simulator runs only in development)")
    for path in [settings.wechat_cover_file, *settings.wechat_covers.values()]:
        try:
            if path is not None:
                cover_from_file(path)
        except (OSError, ValueError) as exc:
            problems.append(f"DISCLOSURE_WECHAT_COVER_FILE or _COVERS: {exc}")
    return problems


WECHAT = register(
    DestinationSpec(
        destination=WECHAT_DESTINATION,
        limits=DestinationLimits(
            WECHAT_DESTINATION,
            attachment_kinds=frozenset(),
            text_only_kinds=PARAGRAPH_KINDS,
            max_bytes=50 * MiB,
            needs_account=True,
        ),
        adapter=WeChatAdapter,
        build=_wechat,
        url=lambda settings: settings.wechat_url,
        simulator=_wechat_simulator,
        after=(Destination.PORTAL,),
        account_fields=("appid", "secret"),
        account_options=("mass_send",),
        problems=_wechat_problems,
    )
)
