#!/usr/bin/env python3
"""`make image`: prosody-admin's container image, as an OCI archive (`docker load` and
`podman load` take it), built here without pulling any base image.

Why this way: the binary needs only the C library (`ldd`: libc, libm, libgcc_s and the
loader; SQLite, Lua and TLS are compiled in), so the image is that binary and exactly
the libraries `ldd` names, from this machine's Debian packages, on an empty root, plus a
passwd/group naming its user and the CA bundle (PostgreSQL over TLS). No shell, no
package manager, nothing to patch but what Debian patches. The archive is written by this
script with the standard library alone (tar, SHA-256, JSON): byte for byte the same for
the same inputs (files sorted, times 0, owners fixed), and no container runtime is needed
to build it (none can run here: no cgroups, no rlimits). `skopeo inspect` reads it back in
the test.

The archive holds both an OCI image layout (`oci-layout`, `index.json`, `blobs/`) and
Docker's `manifest.json`, as `docker save` writes since Docker 25.

    build.py BINARY OUT.tar --version V --commit C [--source URL]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile

UID = GID = 10001
USER = "prosody-admin"
PORT = 5380
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def libraries(binary):
    """The files `ldd` says the binary loads (resolved), at the paths it names them by."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = re.search(r"=>\s+(/\S+)", line) or re.match(r"\s*(/\S+)", line)
        if m:
            found.append(m.group(1))
    if not any("libc.so" in p for p in found):
        raise SystemExit(f"ldd named no C library for {binary}: {out}")
    return found


def add(tar, name, data=None, mode=0o644, uid=0, gid=0, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name.lstrip("/"))
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = 0
    if kind == tarfile.DIRTYPE:
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def layer(binary):
    """The root file system, as one uncompressed tar (sorted, times 0)."""
    files = {
        "/usr/bin/prosody-admin": (open(binary, "rb").read(), 0o755),
        "/etc/passwd": (f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                        f"{USER}:x:{UID}:{GID}:prosody-admin:/data:/usr/sbin/nologin\n".encode(), 0o644),
        "/etc/group": (f"root:x:0:\n{USER}:x:{GID}:\n".encode(), 0o644),
        "/etc/nsswitch.conf": (b"passwd: files\ngroup: files\nhosts: files dns\n", 0o644),
    }
    for lib in libraries(binary):
        files[lib] = (open(os.path.realpath(lib), "rb").read(), 0o755)
    if os.path.exists(CA_BUNDLE):
        files[CA_BUNDLE] = (open(CA_BUNDLE, "rb").read(), 0o644)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for doc in ("LICENSE", "README.md"):
        p = os.path.join(root, doc)
        if os.path.exists(p):
            files[f"/usr/share/doc/prosody-admin/{doc}"] = (open(p, "rb").read(), 0o644)
    dirs = {"/data": (0o750, UID, GID), "/tmp": (0o1777, 0, 0), "/run": (0o755, 0, 0)}
    for f in files:
        d = os.path.dirname(f)
        while d not in ("/", ""):
            dirs.setdefault(d, (0o755, 0, 0))
            d = os.path.dirname(d)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(set(dirs) | set(files)):
            if name in dirs:
                mode, uid, gid = dirs[name]
                add(tar, name, mode=mode, uid=uid, gid=gid, kind=tarfile.DIRTYPE)
            else:
                data, mode = files[name]
                add(tar, name, data, mode)
    return buf.getvalue()


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("out")
    ap.add_argument("--version", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--source", default="https://github.com/prosody-admin/prosody-admin")
    args = ap.parse_args()

    rootfs = layer(args.binary)
    diff_id, rootfs = blob(rootfs)
    # Compressed with a fixed header time, so the same inputs give the same bytes.
    gz = gzip.compress(rootfs, compresslevel=9, mtime=0)
    layer_digest, gz = blob(gz)
    labels = {
        "org.opencontainers.image.title": "prosody-admin",
        "org.opencontainers.image.description": "Prosody's administration REST API, beside Prosody on its own data",
        "org.opencontainers.image.version": args.version,
        "org.opencontainers.image.revision": args.commit,
        "org.opencontainers.image.source": args.source,
        "org.opencontainers.image.licenses": "MIT",
    }
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": f"{UID}:{GID}",
            "Entrypoint": ["/usr/bin/prosody-admin"],
            "Cmd": ["serve"],
            # No database variable: it would beat a mounted Prosody config's storage. The
            # built-in default, data/prosody-admin.sqlite, is in the /data volume from /.
            "Env": ["PATH=/usr/bin", f"PROSODY_ADMIN_LISTEN=0.0.0.0:{PORT}"],
            "WorkingDir": "/",
            "ExposedPorts": {f"{PORT}/tcp": {}},
            "Volumes": {"/data": {}},
            "StopSignal": "SIGTERM",
            "Labels": labels,
            # Docker's and podman's (docker format) health check: GET /readyz.
            "Healthcheck": {"Test": ["CMD", "/usr/bin/prosody-admin", "health"],
                            "Interval": 10_000_000_000, "Timeout": 3_000_000_000, "StartPeriod": 5_000_000_000,
                            "Retries": 3},
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "contrib/image/build.py: the binary and "
                     "the libraries ldd names, on an empty root"}],
    }
    config_digest, config_bytes = blob(json.dumps(config, sort_keys=True, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                    "size": len(gz)}],
        "annotations": labels,
    }
    manifest_digest, manifest_bytes = blob(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
    ref = f"prosody-admin:{args.version}"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": len(manifest_bytes),
                       "annotations": {"org.opencontainers.image.ref.name": args.version,
                                       "io.containerd.image.name": f"docker.io/library/{ref}"}}],
    }
    path = lambda d: "blobs/sha256/" + d.split(":", 1)[1]
    docker = [{"Config": path(config_digest), "RepoTags": [ref], "Layers": [path(layer_digest)]}]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with tarfile.open(args.out, "w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "blobs", kind=tarfile.DIRTYPE, mode=0o755)
        add(tar, "blobs/sha256", kind=tarfile.DIRTYPE, mode=0o755)
        for d, data in sorted([(config_digest, config_bytes), (layer_digest, gz), (manifest_digest, manifest_bytes)]):
            add(tar, path(d), data)
        add(tar, "index.json", json.dumps(index, sort_keys=True).encode())
        add(tar, "manifest.json", json.dumps(docker, sort_keys=True).encode())
        add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    print(f"{args.out}: {ref}, {os.path.getsize(args.out) / 1e6:.1f} MB ({len(gz) / 1e6:.1f} MB layer, "
          f"{len(rootfs) / 1e6:.1f} MB unpacked), manifest {manifest_digest}")


if __name__ == "__main__":
    main()
