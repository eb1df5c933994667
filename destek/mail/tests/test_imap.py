"""IMAP polling against a real Dovecot the tests start on loopback: a throwaway configuration,
a passwd-file user, maildirs and a self-signed certificate made here, nothing of the system's
touched. Messages are put in with IMAP APPEND, as a mail server would deliver them.

Slow (Dovecot is a real server, and may be missing on a laptop): `make test` skips them,
.ci/run installs Debian's dovecot-imapd and runs them; without Dovecot they fail, saying so.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.forms.models import model_to_dict
from imapclient import IMAPClient

from destek.mail import imap
from destek.mail.actions import TemporaryFailure
from destek.mail.actions import process_batch as real_process_batch
from destek.mail.jobs import poll_mailboxes
from destek.mail.models import InboundMessage, InboundStatus, MailAccount
from destek.tickets.models import Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PASSWORD = "Dovecot-Test-s3cret"
USER = "support"
PASSWORD_VAR = "DESTEK_IMAP_TEST_PASSWORD"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_dovecot() -> str:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail(
            "Dovecot is not installed: these tests need a real IMAP server. Install Debian's "
            "dovecot-imapd (`make imap-deps`, or apt-get install dovecot-imapd); .ci/run does.",
            pytrace=False,
        )
    return found


class Dovecot:
    """One Dovecot master (`dovecot -F -c conf`) with a plain and a TLS listener."""

    def __init__(self, conf_dir: Path, run_dir: Path) -> None:
        self.binary = find_dovecot()
        self.conf_dir = conf_dir
        self.run_dir = run_dir
        self.plain_port = free_port()
        self.tls_port = free_port()
        self.log = conf_dir / "dovecot.log"
        self.ca_file = conf_dir / "cert.pem"
        self.process: subprocess.Popen[bytes] | None = None
        self._configure()

    def _configure(self) -> None:
        key = self.conf_dir / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(key),
                "-out",
                str(self.ca_file),
            ],
            check=True,
            capture_output=True,
        )
        # Read by Dovecot's unprivileged auth worker: beside the maildirs, not in tmp_path.
        passwd = self.run_dir / "passwd"
        passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        base, mail, home = self.run_dir / "run", self.run_dir / "mail", self.run_dir / "home"
        for path in (base, mail, home):
            path.mkdir()
        if os.geteuid() == 0:
            # Dovecot's login processes refuse to run as root, and mail is never read as uid 0:
            # Debian's package brings the dovenull and dovecot users; mail is nobody's.
            login_user, internal_user = "dovenull", "dovecot"
            mail_user = pwd.getpwnam("nobody")
            for path in (mail, home):
                os.chown(path, mail_user.pw_uid, mail_user.pw_gid)
            dovecot_user = pwd.getpwnam(internal_user)
            os.chown(passwd, dovecot_user.pw_uid, dovecot_user.pw_gid)
        else:
            # Not root: every process runs as the current user.
            mail_user = pwd.getpwuid(os.getuid())
            login_user = internal_user = mail_user.pw_name
        internal_group = grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name
        self.conf = self.conf_dir / "dovecot.conf"
        self.conf.write_text(
            f"""
base_dir = {base}
state_dir = {self.run_dir / "state"}
instance_name = destek-test-{self.plain_port}
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={home}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        (self.run_dir / "state").mkdir()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5),
                    socket.create_connection(("127.0.0.1", self.plain_port), timeout=0.5),
                ):
                    return
            except OSError:
                time.sleep(0.1)
        stdout = self.process.stdout
        output = stdout.read().decode() if stdout and self.process.poll() is not None else ""
        self.stop()
        log = self.log.read_text() if self.log.exists() else ""
        pytest.fail(f"Dovecot did not start:\n{output}\n{log}", pytrace=False)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None
        # The master is gone; wait until its listeners are too, so a restart can bind.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.2):
                    time.sleep(0.1)
            except OSError:
                return

    def client(self) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = IMAPClient("127.0.0.1", port=self.tls_port, ssl=True, ssl_context=context)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            for raw in messages:
                client.append(folder, raw)

    def flags(self, folder: str = "INBOX") -> list[set[bytes]]:
        """The flags of each message in the folder, in order."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            return [set(fetched[uid][b"FLAGS"]) - {b"\\Recent"} for uid in sorted(fetched)]


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    # base_dir and the maildirs sit in a short directory of their own: UNIX socket paths are
    # limited to 108 bytes, and pytest's tmp_path is private to its user, where Dovecot's
    # unprivileged login processes could not reach them when the tests run as root.
    find_dovecot()
    run_dir = Path(tempfile.mkdtemp(prefix="destek-dovecot-"))
    run_dir.chmod(0o755)
    server: Dovecot | None = None
    try:
        server = Dovecot(tmp_path, run_dir)
        server.start()
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture
def account(
    dovecot: Dovecot, demo: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> MailAccount:
    settings.DESTEK_IMAP_CA_FILE = str(dovecot.ca_file)
    monkeypatch.setenv(PASSWORD_VAR, PASSWORD)
    return MailAccount.objects.create(
        name="support",
        host="127.0.0.1",
        port=dovecot.tls_port,
        use_tls=True,
        username=USER,
        password_env=PASSWORD_VAR,
    )


def compose(subject: str = "Ödəniş keçmir", sender: str = "leyla@example.org") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@destek.localhost"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(f"Salam. {subject}: kartla ödəniş edəndə xəta verir.")
    return msg.as_bytes(policy=policy.SMTP)


def poll(account: MailAccount, **kwargs: Any) -> imap.PollResult:
    account.refresh_from_db()
    return imap.poll(account, **kwargs)


def test_a_new_message_becomes_a_ticket_and_is_then_marked_seen(
    dovecot: Dovecot, account: MailAccount
) -> None:
    dovecot.append(compose("Kabinetə giriş yoxdur"))
    assert dovecot.flags() == [set()]
    result = poll(account)
    assert (result.stored, result.error) == (1, "")
    inbound = InboundMessage.objects.get()
    assert inbound.source == "imap:support"
    assert inbound.ticket_id is not None
    assert Ticket.objects.get(pk=inbound.ticket_id).subject == "Kabinetə giriş yoxdur"
    assert dovecot.flags() == [{b"\\Seen"}]
    assert poll(account).stored == 0, "a seen message is not taken again"
    assert Ticket.objects.count() == 1


def test_with_a_processed_folder_the_message_is_moved_there_after_its_ticket(
    dovecot: Dovecot, account: MailAccount
) -> None:
    MailAccount.objects.filter(pk=account.pk).update(processed_folder="Processed")
    dovecot.append(compose("Birinci"), compose("İkinci"))
    result = poll(account)
    assert result.stored == 2
    assert dovecot.flags() == []
    assert len(dovecot.flags("Processed")) == 2
    assert InboundMessage.objects.filter(status=InboundStatus.STORED).count() == 2


def test_a_message_processed_but_not_marked_before_a_crash_is_not_duplicated(
    dovecot: Dovecot, account: MailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(compose("Sifariş 5512"))

    def killed(*args: Any) -> None:
        raise ConnectionResetError("the worker died right after the commit")

    with monkeypatch.context() as patch:
        patch.setattr(imap, "_done", killed)
        first = poll(account)
    assert first.error and Ticket.objects.count() == 1
    assert dovecot.flags() == [set()], "not marked: the crash came first"
    second = poll(account)
    assert (second.duplicates, second.stored, second.error) == (1, 0, "")
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert dovecot.flags() == [{b"\\Seen"}]


def test_the_connection_dropping_mid_batch_loses_and_duplicates_nothing(
    dovecot: Dovecot, account: MailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    subjects = [f"Sual {n}" for n in range(1, 6)]
    dovecot.append(*(compose(subject) for subject in subjects))
    monkeypatch.setattr(imap, "BATCH_SIZE", 2)  # groups of two: committed, then marked
    handed = 0

    def then_the_server_dies(mails: Any) -> Any:
        nonlocal handed
        results = real_process_batch(mails)
        handed += 1
        if handed == 2:
            dovecot.stop()  # after the second group is committed, before it is marked
        return results

    monkeypatch.setattr(imap, "process_batch", then_the_server_dies)
    first = poll(account)
    assert first.error, "the dropped connection is reported"
    assert MailAccount.objects.get(pk=account.pk).last_error
    assert first.stored == 2 and Ticket.objects.count() == 4
    dovecot.start()
    monkeypatch.setattr(imap, "process_batch", real_process_batch)
    second = poll(account)
    assert second.error == ""
    assert MailAccount.objects.get(pk=account.pk).last_error == ""
    assert (second.stored, second.duplicates) == (1, 2)
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == subjects
    assert InboundMessage.objects.count() == 5
    assert dovecot.flags() == [{b"\\Seen"}] * 5


def test_a_quarantined_message_does_not_block_the_others(
    dovecot: Dovecot, account: MailAccount
) -> None:
    dovecot.append(compose("Əvvəl"), b"\r\nno header line at all, only text\r\n", compose("Sonra"))
    result = poll(account)
    assert (result.stored, result.quarantined, result.error) == (2, 1, "")
    assert InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).count() == 1
    assert dovecot.flags() == [{b"\\Seen"}] * 3, "the quarantined one is kept by us, not again"


def test_a_message_too_large_to_accept_is_moved_to_the_refused_folder(
    dovecot: Dovecot, account: MailAccount, settings: Any
) -> None:
    settings.DESTEK_MAIL_MAX_MB = 1
    big = compose("Böyük fayl") + b"x" * 76 + b"\r\n"
    big += (b"y" * 76 + b"\r\n") * 15000
    dovecot.append(big, compose("Hesab-fakturada səhv məbləğ"))
    result = poll(account)
    assert (result.refused, result.stored, result.error) == (1, 1, "")
    assert len(dovecot.flags()) == 1
    assert len(dovecot.flags("Destek.Refused")) == 1, "Dovecot's separator is the dot"
    assert poll(account).refused == 0


def test_a_temporary_failure_leaves_the_message_and_stops_the_batch(
    dovecot: Dovecot, account: MailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(compose("Bir"), compose("İki"))

    def away(mails: Any) -> Any:
        return [TemporaryFailure("database is away")]

    monkeypatch.setattr(imap, "process_batch", away)
    result = poll(account)
    assert "database is away" in result.error
    assert "database is away" in MailAccount.objects.get(pk=account.pk).last_error
    assert dovecot.flags() == [set(), set()]


def test_tls_is_used_and_a_plain_connection_to_a_tls_account_is_refused(
    dovecot: Dovecot, account: MailAccount
) -> None:
    dovecot.append(compose("Şifrəli"))
    assert poll(account).stored == 1
    assert "method=PLAIN" in dovecot.log.read_text() and ", TLS," in dovecot.log.read_text()

    dovecot.append(compose("Açıq"))
    MailAccount.objects.filter(pk=account.pk).update(port=dovecot.plain_port)
    result = poll(account)
    assert result.error and result.stored == 0, "TLS required: no plain-text fallback"
    assert dovecot.flags()[-1] == set()

    # TLS switched off: only a server on this machine may be reached that way.
    MailAccount.objects.filter(pk=account.pk).update(use_tls=False, host="imap.example.org")
    result = poll(account)
    assert "allowed only for a server on this machine" in result.error
    MailAccount.objects.filter(pk=account.pk).update(host="127.0.0.1")
    assert poll(account).stored == 1


def test_a_password_entered_in_the_admin_is_used_without_the_environment(
    dovecot: Dovecot, account: MailAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.append(compose("Parol admində"))
    monkeypatch.delenv(PASSWORD_VAR)
    account.set_password(PASSWORD)
    account.save()
    assert PASSWORD not in str(model_to_dict(account))
    result = poll(account)
    assert (result.stored, result.error) == (1, "")


def test_the_password_comes_from_the_environment_never_from_the_model(
    dovecot: Dovecot,
    account: MailAccount,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert PASSWORD not in str(model_to_dict(account))
    dovecot.append(compose("Parol"))

    monkeypatch.delenv(PASSWORD_VAR)
    result = poll(account)
    assert PASSWORD_VAR in result.error and result.stored == 0

    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    monkeypatch.setenv(f"{PASSWORD_VAR}_FILE", str(secret))
    assert poll(account).stored == 1, "read from <NAME>_FILE"

    # Another secret of the environment cannot be named: an admin could send it anywhere.
    monkeypatch.setenv("DESTEK_SECRET_KEY", PASSWORD)
    MailAccount.objects.filter(pk=account.pk).update(password_env="DESTEK_SECRET_KEY")
    assert "DESTEK_IMAP_" in poll(account).error

    monkeypatch.setenv(PASSWORD_VAR, "wrong")
    monkeypatch.delenv(f"{PASSWORD_VAR}_FILE")
    MailAccount.objects.filter(pk=account.pk).update(password_env=PASSWORD_VAR)
    refused = poll(account)
    assert refused.error
    assert PASSWORD not in refused.error and "wrong" not in refused.error
    assert PASSWORD not in caplog.text and "wrong" not in caplog.text


def test_the_periodic_task_polls_each_enabled_mailbox_once_however_often_it_runs(
    dovecot: Dovecot, account: MailAccount
) -> None:
    MailAccount.objects.create(
        name="off", host="127.0.0.1", username="x", password_env="DESTEK_IMAP_X", enabled=False
    )
    dovecot.append(compose("Dövri"))
    poll_mailboxes()
    polled_at = MailAccount.objects.get(pk=account.pk).last_polled_at
    assert polled_at is not None and Ticket.objects.count() == 1
    dovecot.append(compose("Sonrakı"))
    poll_mailboxes()  # a second worker, the same minute: the mailbox is not due yet
    assert MailAccount.objects.get(pk=account.pk).last_polled_at == polled_at
    assert Ticket.objects.count() == 1
    assert MailAccount.objects.get(name="off").last_polled_at is None


def test_poll_mail_polls_now_and_reports_each_mailbox(
    dovecot: Dovecot, account: MailAccount, run_command: Callable[..., str]
) -> None:
    dovecot.append(compose("Əmr"))
    assert "support: 1 stored" in run_command("poll_mail", "--account", "support")
    assert Ticket.objects.count() == 1


@pytest.fixture
def run_command() -> Callable[..., str]:
    from io import StringIO

    from django.core.management import call_command

    def run(*args: str) -> str:
        out = StringIO()
        call_command(*args, stdout=out)
        return out.getvalue()

    return run
