"""Fill containers/extra-ca/ with the CA certificates this machine trusts beyond Debian's stock set.

Behind a TLS-intercepting proxy (a corporate one, or this project's CI machines) pip, npm and Maven
inside an image build fail with certificate errors until the proxy's CA is trusted there. Every
Dockerfile copies containers/extra-ca/*.crt into the image's system trust store (which pip, npm and
Java's keystore then use). This script finds those certificates: the ones in the bundle this machine
uses (pip's `cert`, SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt) that Debian's
ca-certificates package does not ship. Nothing here is committed (.gitignore), and a machine with no
such certificate gets an empty folder.

    python3 containers/extra_ca.py --from-host containers/extra-ca
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.S)
DEBIAN_STOCK = Path("/usr/share/ca-certificates")
DEFAULT_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PREFIX = "host-"


def certificates(text: str) -> list[str]:
    return [match.group(0).strip() + "\n" for match in PEM.finditer(text)]


def fingerprint(pem: str) -> str:
    return hashlib.sha256("".join(pem.split()).encode()).hexdigest()


def host_bundle() -> Path:
    """The CA bundle clients on this machine use: pip's configured cert, then SSL_CERT_FILE."""
    candidates = []
    pip = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.cert"],
                         capture_output=True, text=True)
    if pip.returncode == 0:
        candidates.append(pip.stdout.strip())
    candidates += [os.environ.get("PIP_CERT", ""), os.environ.get("SSL_CERT_FILE", ""), str(DEFAULT_BUNDLE)]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise SystemExit("no CA bundle found on this machine")


def extra_certificates(bundle: Path, stock_dir: Path) -> list[str]:
    stock = {fingerprint(pem) for path in stock_dir.rglob("*.crt") for pem in certificates(path.read_text())}
    seen: set[str] = set()
    extra = []
    for pem in certificates(bundle.read_text()):
        key = fingerprint(pem)
        if key not in stock and key not in seen:
            seen.add(key)
            extra.append(pem)
    return extra


def write_folder(folder: Path, pems: list[str]) -> list[Path]:
    """Replace the host-*.crt files of `folder` by `pems` (files a user put there stay)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{PREFIX}*.crt"):
        old.unlink()
    written = []
    for pem in pems:
        path = folder / f"{PREFIX}{fingerprint(pem)[:16]}.crt"
        path.write_text(pem)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-host", metavar="FOLDER", type=Path, required=True,
                        help="write this machine's extra CA certificates there as host-*.crt")
    args = parser.parse_args(argv)
    if not DEBIAN_STOCK.is_dir():
        print(f"[extra-ca] {DEBIAN_STOCK} missing (not Debian?): add your CA to {args.from_host}/ by hand")
        return 0
    bundle = host_bundle()
    written = write_folder(args.from_host, extra_certificates(bundle, DEBIAN_STOCK))
    print(f"[extra-ca] {len(written)} certificate(s) from {bundle} beyond Debian's set -> {args.from_host}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
