"""Real mail servers on loopback for the e-mail tests: an aiosmtpd SMTP server that keeps what it
receives, and a throw-away Dovecot IMAP server with one mailbox. Both start on a free port, are
ready when the context manager yields, and are gone (port closed) when it exits.

    with smtp_server() as smtp:
        ...send to smtp.host:smtp.port...
        smtp.wait_for(1, timeout=5)
    with imap_server() as imap:
        imap.deliver(raw_bytes)
        MailBox(imap.host, imap.port).login(imap.user, imap.password)

Dovecot comes from the Debian package dovecot-imapd (CI installs it); when it is missing the
fixture fails loudly rather than skipping, so the IMAP tests cannot silently stop running.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from imap_tools.imap_utf7 import utf7_encode

LOOPBACK = "127.0.0.1"
DOVECOT = "/usr/sbin/dovecot"
STARTUP_TIMEOUT = 5.0
SUPPORT_MAILBOX = "support@posdesk.test"
SUPPORT_PASSWORD = "imap-test-secret"


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it; the server binds it just after)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    raw: bytes


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least `count` messages arrived (woken by each arrival, no polling sleep);
        AssertionError after `timeout` seconds."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise AssertionError(
                    f"expected {count} message(s) at {self.host}:{self.port} within {timeout}s, "
                    f"got {len(self.messages)}"
                )
            return list(self.messages)

    def receive(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self.messages.append(mail)
            self._arrived.notify_all()


class _KeepEverything:
    """aiosmtpd handler: accept every message and hand it to the SmtpServer."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    # aiosmtpd finds its hooks by these names.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        self.server.receive(ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(raw)))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1 and a free port that accepts and keeps every message."""
    last_error: OSError | None = None
    for _attempt in range(3):  # another process may take the free port between probe and bind
        server = SmtpServer(host=LOOPBACK, port=free_port())
        controller = Controller(
            _KeepEverything(server),
            hostname=LOOPBACK,
            port=server.port,
            enable_SMTPUTF8=True,
            ready_timeout=STARTUP_TIMEOUT,
        )
        try:
            controller.start()
        except OSError as error:
            last_error = error
            continue
        try:
            yield server
        finally:
            controller.stop()
        return
    raise RuntimeError(f"the loopback SMTP server could not start: {last_error}")


# --- IMAP (Dovecot) -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    log_path: Path

    def deliver(self, raw: bytes, folder: str = "INBOX") -> str:
        """Put one message into a folder (created if needed) with IMAP APPEND; returns its UID."""
        with imaplib.IMAP4(self.host, self.port, timeout=STARTUP_TIMEOUT) as connection:  # logs out on exit
            connection.login(self.user, self.password)
            if folder.upper() != "INBOX":
                connection.create(_quoted(folder))  # "already exists" is fine
            status, data = connection.append(_quoted(folder), None, None, raw)
            if status != "OK":
                raise RuntimeError(f"IMAP APPEND to {folder!r} failed: {data!r}")
        answer = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
        uid = re.search(r"APPENDUID \d+ (\d+)", answer)
        return uid.group(1) if uid else ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _quoted(folder: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 §5.1.3)."""
    name = utf7_encode(folder).decode("ascii")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class _Accounts:
    """Who Dovecot's processes run as. As root it drops privileges: its own service accounts
    (created by the package) for internal and login processes, `nobody` for the mailbox, because
    Dovecot refuses mail access as UID 0. Unprivileged, everything runs as the current user."""

    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int


def _accounts() -> _Accounts:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return _Accounts(
            internal_user="dovecot",
            internal_group="dovecot",
            login_user="dovenull",
            mail_uid=nobody.pw_uid,
            mail_gid=nobody.pw_gid,
        )
    me = pwd.getpwuid(os.geteuid())
    group = grp.getgrgid(os.getegid()).gr_name
    return _Accounts(
        internal_user=me.pw_name,
        internal_group=group,
        login_user=me.pw_name,
        mail_uid=me.pw_uid,
        mail_gid=os.getegid(),
    )


def _dovecot_conf(root: Path, port: int, accounts: _Accounts) -> str:
    return f"""\
# Throw-away instance for the posdesk test suite.
protocols = imap
listen = {LOOPBACK}
instance_name = posdesk-test-{port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests try wrong passwords on purpose; the default 2 s penalty would only slow them.
auth_failure_delay = 0
default_internal_user = {accounts.internal_user}
default_internal_group = {accounts.internal_group}
default_login_user = {accounts.login_user}
first_valid_uid = {min(accounts.mail_uid, 500)}
first_valid_gid = {0 if accounts.mail_gid == 0 else 1}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  # No chroot: an unprivileged instance cannot chroot, and a test server needs no jail.
  chroot =
  inet_listener imap {{
    address = {LOOPBACK}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextmanager
def imap_server(user: str = SUPPORT_MAILBOX, password: str = SUPPORT_PASSWORD) -> Iterator[ImapServer]:
    """A real Dovecot IMAP server on 127.0.0.1 and a free port with one empty mailbox, in a
    temporary directory that is removed with it."""
    if not Path(DOVECOT).exists():
        raise RuntimeError(
            f"{DOVECOT} is missing: the IMAP tests need a real Dovecot. "
            "Install it with `apt-get install dovecot-imapd`."
        )
    accounts = _accounts()
    root = Path(tempfile.mkdtemp(prefix="posdesk-dovecot-"))
    try:
        # Dovecot's auth and mail processes run as other users: they must reach the directory.
        root.chmod(0o755)
        home = root / "home" / "support"
        home.mkdir(parents=True)
        if os.geteuid() == 0:
            os.chown(home, accounts.mail_uid, accounts.mail_gid)
        users = root / "users"
        users.write_text(f"{user}:{{PLAIN}}{password}:{accounts.mail_uid}:{accounts.mail_gid}::{home}::\n")
        users.chmod(0o644)
        port = free_port()
        conf = root / "dovecot.conf"
        conf.write_text(_dovecot_conf(root, port, accounts))
        server = ImapServer(
            host=LOOPBACK, port=port, user=user, password=password, log_path=root / "dovecot.log"
        )
        process = subprocess.Popen(  # noqa: S603 - fixed binary, our own config
            [DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so stopping it reaches every child
        )
        try:
            _wait_until_ready(process, server)
            yield server
        finally:
            _stop(process, server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(process: subprocess.Popen[bytes], server: ImapServer) -> None:
    """Ready when the IMAP greeting arrives. Between attempts we wait on the process itself, so a
    Dovecot that dies on a bad configuration is reported at once with its log."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((server.host, server.port), timeout=1.0) as connection:
                if connection.recv(512).startswith(b"* OK"):
                    return
        except OSError:
            pass
        try:
            process.wait(timeout=0.02)
        except subprocess.TimeoutExpired:
            continue
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"dovecot exited with {process.returncode}:\n{stderr}\n{server.log()}")
    raise RuntimeError(
        f"dovecot did not answer on {server.host}:{server.port} in {STARTUP_TIMEOUT}s\n{server.log()}"
    )


def _stop(process: subprocess.Popen[bytes], server: ImapServer) -> None:
    """A throw-away server needs no graceful shutdown: Dovecot's own takes a second and now and then
    hangs, so the whole process group we started is killed at once, then we wait for the port."""
    if process.returncode is None:  # not reaped yet, so its group id cannot belong to anyone else
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stderr:
        process.stderr.close()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while _listening(server.host, server.port):  # children die a moment after the master
        if time.monotonic() > deadline:
            raise RuntimeError(f"dovecot still listens on {server.host}:{server.port} after being stopped")
        time.sleep(0.01)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False
