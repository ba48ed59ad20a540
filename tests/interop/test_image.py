"""The container image (`make image`: target/prosody-admin-image.tar) run beside a real
Prosody 13: its own root file system (the archive's layer unpacked), started as its
config says (entry point, command, environment) in a mount and PID namespace rooted
there (`unshare`: a container runtime needs cgroups and rlimits this machine does not
give), with Prosody's config and data directory bind-mounted at the paths the config
names, as a compose file shares Prosody's volume. Through it: Prosody's accounts listed,
an invite made that Prosody redeems, a session ended through Prosody's admin socket;
SIGTERM stops it cleanly. The archive's manifest and config are read back by skopeo
(Debian's), as a registry client reads them."""

import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import urllib.request

import pytest

import xmpp
from conftest import ROOT, Setup, VERSIONS, free_port

IMAGE = ROOT / "target" / "prosody-admin-image.tar"


def image_config():
    """(the OCI config, the layer's bytes) of the archive."""
    with tarfile.open(IMAGE) as t:
        index = json.load(t.extractfile("index.json"))
        manifest = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]))
        config = json.load(t.extractfile("blobs/sha256/" + manifest["config"]["digest"].split(":")[1]))
        layer = t.extractfile("blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]).read()
    return manifest, config, layer


@pytest.fixture(scope="module")
def image():
    if not IMAGE.exists():
        pytest.fail(f"{IMAGE} is missing: `make image` builds it (make test does)")
    return image_config()


def test_the_manifest_says_user_entry_point_port_health_and_labels(image):
    manifest, config, layer = image
    c = config["config"]
    assert c["User"] == "10001:10001" and not c["User"].startswith("0")
    assert c["Entrypoint"] == ["/usr/bin/prosody-admin"] and c["Cmd"] == ["serve"]
    assert "5380/tcp" in c["ExposedPorts"] and "PROSODY_ADMIN_LISTEN=0.0.0.0:5380" in c["Env"]
    assert c["Healthcheck"]["Test"] == ["CMD", "/usr/bin/prosody-admin", "health"]
    labels = c["Labels"]
    for k in ("version", "revision", "source", "licenses"):
        assert labels[f"org.opencontainers.image.{k}"], k
    size = IMAGE.stat().st_size
    assert size < 60e6, size
    # A registry client reads the archive as an image (Debian's skopeo).
    if shutil.which("skopeo"):
        out = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{IMAGE}"], capture_output=True,
                             text=True, check=True).stdout
        assert json.loads(out)["config"]["User"] == "10001:10001"
        raw = json.loads(subprocess.run(["skopeo", "inspect", f"oci-archive:{IMAGE}"], capture_output=True,
                                        text=True, check=True).stdout)
        assert raw["Labels"]["org.opencontainers.image.revision"] == labels["org.opencontainers.image.revision"]
    else:
        pytest.fail("skopeo is missing: `make image` installs it from Debian's packages")


class Contained:
    """The image's binary in its own root, Prosody's directory bind-mounted."""

    def __init__(self, image, setup, port):
        _, config, layer = image
        self.root = tempfile.mkdtemp(prefix="pa-image-")
        import io
        with tarfile.open(fileobj=io.BytesIO(layer)) as t:
            t.extractall(self.root, filter="tar")
        shared = setup.dir
        os.makedirs(self.root + shared, exist_ok=True)
        c = config["config"]
        env = dict(e.split("=", 1) for e in c["Env"])
        # As `docker run -e`: the listen port and Prosody's config (the mounted volume).
        env["PROSODY_ADMIN_LISTEN"] = f"127.0.0.1:{port}"
        env["PROSODY_ADMIN_PROSODY_CONFIG"] = setup.cfg
        env["RUST_LOG"] = "info"
        argv = [*c["Entrypoint"], *c["Cmd"]]
        # Prosody runs as root in these tests, so its files are root's: the image runs
        # with Prosody's uid and gid (`--user 0:0` here), as the README says to.
        script = (f'mount --bind {shared} {self.root}{shared} && exec unshare --root={self.root} '
                  f'--wd={c["WorkingDir"]} -S 0 -G 0 ' + " ".join(argv))
        self.log = open(os.path.join(self.root, "..", os.path.basename(self.root) + ".log"), "w+")
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "sh", "-c",
                                      script], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}/admin_api"
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"the image did not start: {self.log.read()}")
            time.sleep(0.1)

    def server_pid(self):
        """The service's pid (the namespace's first process, as the host sees it)."""
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def contained(image):
    if shutil.which(VERSIONS["13"]["prosody"]) is None:
        pytest.fail("Prosody 13 is not installed: `make test` installs it (tests/interop/install-prosody.sh)")
    with tempfile.TemporaryDirectory() as d:
        s = Setup(d, "13")
        c = None
        try:
            c = Contained(image, s, free_port())
            yield s, c
        finally:
            if c:
                c.stop()
            s.stop()


def test_the_image_administers_prosody_through_its_mounts(contained):
    s, c = contained
    s.prosodyctl("register", "boxed", "localhost", "pw")
    status, users = s.call("GET", "/users", url=c.url)
    assert status == 200, users
    names = [u["username"] for u in users]
    assert "admin" in names and "boxed" in names, names
    # An invite made through the image, redeemed by Prosody.
    status, inv = s.call("POST", "/invites/account", {}, url=c.url)
    assert status == 200, inv
    xmpp.register_with_invite(s.c2s, inv["id"], "invited", "pw-i")
    assert xmpp.can_login(s.c2s, "invited", "pw-i")
    # A session ended through Prosody's admin socket (in the mounted data directory).
    stream = xmpp.Stream(s.c2s).login("boxed", "pw")
    assert s.call("PATCH", "/users/boxed", {"enabled": False}, url=c.url)[0] == 200
    stream.sock.settimeout(2.0)
    ended = None
    try:
        while ended is None:
            el = stream.next()
            if el.tag == f"{{{xmpp.NS_STREAM}}}error":
                ended = "".join(el.itertext())
    except (OSError, xmpp.XmppError):
        pass
    assert ended and "Account disabled" in ended, ended
    # Its own health check, run in its root with its environment, says ready.
    _, config, _ = image_config()
    health = subprocess.run(["unshare", "--mount", "--pid", "--fork", f"--root={c.root}", "-S", "0", "-G", "0",
                             *config["config"]["Healthcheck"]["Test"][1:]],
                            env={"PROSODY_ADMIN_LISTEN": c.url.split("/")[2]}, capture_output=True, text=True,
                            timeout=10)
    assert health.returncode == 0 and "ready" in health.stdout, health
    # SIGTERM: it drains and exits 0.
    os.kill(c.server_pid(), signal.SIGTERM)
    assert c.proc.wait(timeout=15) == 0
    c.log.seek(0)
    log = c.log.read()
    assert "listening on" in log, log
