"""CLI: `python -m salesforce_emulator serve | credentials`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def project_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "manage.py").exists() or (folder / "pyproject.toml").exists():
            return folder
    return here


def default_data_dir() -> Path:
    return project_root() / "var" / "emulator"


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import Servers
    servers = Servers(args.host, args.port, args.http_port, Path(args.data_dir),
                      args.org_definition or None)
    servers.start()
    emu = servers.emu
    print(f"Salesforce emulator running (pid {servers.runtime_info()['pid']})", flush=True)
    print(f"  instance URL (HTTPS, API): {emu.instance_url}", flush=True)
    print(f"  login URL (HTTP, browser): {emu.http_url}", flush=True)
    print(f"  CA bundle: {Path(args.data_dir) / 'ca.pem'}", flush=True)
    print(f"  data dir:  {Path(args.data_dir).resolve()}", flush=True)
    print(f"  orgs: {', '.join(emu.orgs)}  (python -m salesforce_emulator credentials "
          f"--data-dir {args.data_dir})", flush=True)
    servers.wait()
    return 0


def cmd_credentials(args: argparse.Namespace) -> int:
    from .client import EmulatorClient, EmulatorNotRunning
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    try:
        client = EmulatorClient.from_data_dir(data_dir)
        print(json.dumps(client.credentials(args.org), indent=2))
    except EmulatorNotRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salesforce_emulator",
                                     description="Local Salesforce org emulator")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTPS + HTTP servers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443, help="HTTPS port (0 = any free port)")
    serve.add_argument("--http-port", type=int, default=8080,
                       help="loopback HTTP port (0 = any free port)")
    serve.add_argument("--data-dir", default=str(default_data_dir()))
    serve.add_argument("--org-definition", action="append",
                       help="org definition file (YAML/JSON); repeat for several orgs")
    serve.set_defaults(func=cmd_serve)
    creds = sub.add_parser("credentials", help="print one org's credentials as JSON")
    creds.add_argument("--data-dir")
    creds.add_argument("--org", default=None, help="demo (default) or sandbox")
    creds.set_defaults(func=cmd_credentials)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
