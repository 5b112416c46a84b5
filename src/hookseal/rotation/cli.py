"""``hookseal rotate``: the command line over :class:`~hookseal.rotation.Rotation`.

    hookseal rotate --kind integrator --provider-url https://api.example.com \\
        --redis redis://redis:6379/0 --redis-channel hookseal:rotations
    hookseal rotate --resume ...      # after a crash, with the same options
    hookseal rotate --dry-run ...     # print the plan, change nothing

Credentials come from environment variables, never from the command line: the integrator's
bearer token (``HOOKSEAL_INTEGRATOR_TOKEN``), the payments secret key
(``HOOKSEAL_PAYMENTS_SECRET_KEY``), the billing bearer token (``HOOKSEAL_BILLING_TOKEN``), the
retail session (``HOOKSEAL_RETAIL_SESSION`` = ``user_id:session_key``); ``--credential-env``
names another variable. Exit status: 0 done, 1 failed (state kept: --resume), 2 usage,
3 a wait timed out, 4 refused by a safety rule.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import ConfigurationError, HookSealError
from ..fleet import DirectoryFleet, FleetBackend, RedisFleet
from .audit import Progress
from .engine import Rotation, Settings
from .errors import RotationError
from .kinds import BillingKind, IntegratorKind, ManualKind, PaymentsKind, ProviderKind, RetailKind
from .stores import AwsSecretsManagerStore, FileStore, RedisStore, SecretStore

__all__ = ["add_parser", "run"]

KINDS = ("integrator", "payments", "billing", "retail", "manual")
CREDENTIALS = {
    "integrator": "HOOKSEAL_INTEGRATOR_TOKEN",
    "payments": "HOOKSEAL_PAYMENTS_SECRET_KEY",
    "billing": "HOOKSEAL_BILLING_TOKEN",
    "retail": "HOOKSEAL_RETAIL_SESSION",
}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add the ``rotate`` subcommand to ``python -m hookseal``'s subparsers."""
    p = sub.add_parser(
        "rotate",
        help="rotate a webhook secret across every replica (resumable)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("--kind", choices=KINDS, required=True, help="the provider's kind")
    flow = p.add_mutually_exclusive_group()
    flow.add_argument("--resume", action="store_true", help="continue the rotation in progress")
    flow.add_argument("--abort", action="store_true", help="roll back a rotation not yet switched")
    flow.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    flow.add_argument(
        "--break-lock",
        action="store_true",
        help="release the fleet's claim of a rotation whose state file is lost",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="retire the old secret even if it verified traffic recently",
    )
    p.add_argument("--state", default="hookseal-rotation.json", help="the state file")
    p.add_argument("--audit", default="hookseal-rotation.log", help="the audit log (JSON lines)")

    g = p.add_argument_group("the shared store the replicas read (one)")
    g.add_argument("--redis", metavar="URL", help="a Redis hash (RedisSource)")
    g.add_argument("--redis-key", default="hookseal:secrets")
    g.add_argument("--redis-channel", help="pub/sub channel the replicas listen on")
    g.add_argument("--file", metavar="PATH", help="a JSON secrets file (FileSource)")
    g.add_argument("--aws", metavar="SECRET_ID", help="an AWS Secrets Manager secret")
    g.add_argument("--aws-region")
    g.add_argument("--aws-endpoint-url")

    g = p.add_argument_group("where the replicas report (one; default: --redis)")
    g.add_argument("--fleet-redis", metavar="URL")
    g.add_argument("--fleet-dir", metavar="PATH")
    g.add_argument("--fleet-group", default="default")

    g = p.add_argument_group("the provider")
    g.add_argument("--provider-url", help="the API's base URL")
    g.add_argument("--credential-env", help="the variable holding the API credential")
    g.add_argument("--chain-id", type=int, help="retail: the chain")
    g.add_argument(
        "--retail-with-store",
        action="store_true",
        help="retail: the replicas read the store, not the API",
    )
    g.add_argument("--endpoint-id", help="billing: the webhook endpoint (wep_...)")
    g.add_argument(
        "--billing-ids",
        default="current,previous,next",
        help="billing: the store ids current,previous,staged",
    )
    g.add_argument("--provider-name", default="the provider", help="manual: who to tell")
    g.add_argument("--new-id", help="the new secret's id (retail: the new key's id)")

    g = p.add_argument_group("timings (seconds) and rules")
    defaults = Settings()
    for name in (
        "poll",
        "deploy_timeout",
        "switch_timeout",
        "confirm_timeout",
        "remove_timeout",
        "quiet",
        "grace",
        "leeway",
    ):
        g.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(defaults, name))
    g.add_argument("--min-deliveries", type=int, default=defaults.min_deliveries)
    g.add_argument("--min-replicas", type=int, default=defaults.min_replicas)
    g.add_argument("--progress-every", type=float, default=5.0)
    p.set_defaults(run=run)
    parser: argparse.ArgumentParser = p
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``hookseal rotate`` as parsed; returns the exit status."""
    try:
        rotation = _rotation(args)
        if args.dry_run:
            for line in rotation.plan():
                print(line)
            return 0
        if args.abort:
            state = rotation.abort()
            print(f"rotation {state.rotation_id} rolled back")
            return 0
        if args.break_lock:
            holder = rotation.break_lock()
            print(f"released the claim of rotation {holder}" if holder else "no claim to release")
            return 0
        rotation.run(resume=args.resume)
        return 0
    except RotationError as exc:
        print(f"hookseal rotate: {exc}", file=sys.stderr)
        return exc.exit_code
    except ConfigurationError as exc:
        print(f"hookseal rotate: {exc}", file=sys.stderr)
        return 2
    except HookSealError as exc:  # a provider API call failed (ProviderError): named, no value
        print(f"hookseal rotate: {exc}{_KEPT}", file=sys.stderr)
        return 1
    except _backend_errors() as exc:  # the store or the fleet (Redis, AWS) failed
        # the type and the library's message only: neither carries a URL's password
        print(f"hookseal rotate: {type(exc).__name__}: {exc}{_KEPT}", file=sys.stderr)
        return 1


_KEPT = " (a rotation in progress keeps its state: --resume continues it)"


def _backend_errors() -> tuple[type[BaseException], ...]:
    """The errors of the store and fleet client libraries that are installed."""
    found: list[type[BaseException]] = []
    try:
        import redis

        found.append(redis.RedisError)
    except ImportError:
        pass
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        found.extend((BotoCoreError, ClientError))
    except ImportError:
        pass
    return tuple(found)


def _rotation(args: argparse.Namespace) -> Rotation:
    settings = Settings(
        poll=args.poll,
        deploy_timeout=args.deploy_timeout,
        switch_timeout=args.switch_timeout,
        confirm_timeout=args.confirm_timeout,
        remove_timeout=args.remove_timeout,
        quiet=args.quiet,
        grace=args.grace,
        leeway=args.leeway,
        min_deliveries=args.min_deliveries,
        min_replicas=args.min_replicas,
        force=args.force,
        new_id=args.new_id,
    )
    return Rotation(
        _kind(args),
        store=_store(args),
        fleet=_fleet(args),
        state=args.state,
        audit=args.audit,
        settings=settings,
        progress=Progress(every=args.progress_every),
    )


def _store(args: argparse.Namespace) -> SecretStore | None:
    chosen = [name for name in ("redis", "file", "aws") if getattr(args, name)]
    if len(chosen) > 1:
        raise ConfigurationError("give one store: --redis, --file or --aws")
    if args.redis:
        return RedisStore(args.redis, key=args.redis_key, channel=args.redis_channel)
    if args.file:
        return FileStore(args.file)
    if args.aws:
        return AwsSecretsManagerStore(
            args.aws, region_name=args.aws_region, endpoint_url=args.aws_endpoint_url
        )
    return None


def _fleet(args: argparse.Namespace) -> FleetBackend:
    if args.fleet_redis and args.fleet_dir:
        raise ConfigurationError("give one of --fleet-redis or --fleet-dir")
    if args.fleet_dir:
        return DirectoryFleet(args.fleet_dir)
    url = args.fleet_redis or args.redis
    if not url:
        raise ConfigurationError("where do the replicas report? give --fleet-redis or --fleet-dir")
    return RedisFleet(url, group=args.fleet_group)


def _credential(args: argparse.Namespace) -> str:
    name = args.credential_env or CREDENTIALS[args.kind]
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"the {args.kind} API credential is not set: export {name}")
    return value


def _kind(args: argparse.Namespace) -> ProviderKind:
    if args.kind == "manual":
        return ManualKind(args.provider_name)
    if not args.provider_url:
        raise ConfigurationError(f"--provider-url is needed for the {args.kind} API")
    from ..providers import (
        BillingClient,
        IntegratorClient,
        PaymentsClient,
        RetailClient,
        SpaazaSession,
    )

    credential = _credential(args)
    if args.kind == "integrator":
        return IntegratorKind(IntegratorClient(args.provider_url, token=credential))
    if args.kind == "payments":
        return PaymentsKind(PaymentsClient(credential, base_url=args.provider_url))
    if args.kind == "billing":
        if not args.endpoint_id:
            raise ConfigurationError("--endpoint-id is needed for the billing API")
        ids = [part.strip() for part in args.billing_ids.split(",")]
        if len(ids) != 3:
            raise ConfigurationError("--billing-ids is current,previous,staged")
        return BillingKind(
            BillingClient(args.provider_url, token=credential),
            endpoint_id=args.endpoint_id,
            current_id=ids[0],
            previous_id=ids[1],
            staged_id=ids[2],
        )
    if args.chain_id is None:
        raise ConfigurationError("--chain-id is needed for the retail API")
    user_id, _, session_key = credential.partition(":")
    if not user_id or not session_key:
        raise ConfigurationError("the retail credential is user_id:session_key")
    session = SpaazaSession(user_id=user_id, session_key=session_key)
    return RetailKind(
        RetailClient(args.provider_url, session=session),
        chain_id=args.chain_id,
        with_store=args.retail_with_store,
    )
