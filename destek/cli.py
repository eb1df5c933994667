"""The `destek` console script: servers, the worker, and every management command.

destek run          web + worker together on one machine (what `make run` starts)
destek web          HTTP through granian (WSGI); DESTEK_WEB_SERVER=gunicorn as fallback
destek ws           WebSockets through uvicorn (ASGI)
destek worker       the Huey consumer (jobs and periodic sweeps)
destek ingest-email one message on standard input into the mail spool (exit 0/65/75)
destek drain-mail-spool   file the spooled mail now (the worker does it every second)
destek smtpd        an SMTP (LMTP with DESTEK_SMTPD_LMTP=1) listener for inbound mail
destek poll-mail [--account NAME]   poll the IMAP mailboxes now (the worker does it each minute)
destek channels add-telegram --name NAME --token TOKEN [--api-url URL]   a Telegram bot channel
destek migrate | demo | seed --tickets N | createsuperuser | ...   (Django commands)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from destek.lib.env import env_int, env_str


def _django(args: Sequence[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["destek", *args])


def _exec(argv: list[str]) -> None:
    os.execvp(argv[0], argv)  # noqa: S606  (replaces this process with the server)


def web(args: Sequence[str]) -> None:
    host = env_str("HOST", "127.0.0.1")
    port = str(env_int("PORT", 8000))
    workers = str(env_int("DESTEK_WEB_WORKERS", os.cpu_count() or 1, minimum=1))
    # SQLite has one writer: many threads per process only queue on its lock and stretch the
    # tail (measured: p99 1.7 s with granian's default, 0.2 s with one thread, more req/s).
    default_threads = 4 if env_str("DATABASE_URL") else 1
    threads = str(env_int("DESTEK_WEB_THREADS", default_threads, minimum=1))
    _django(["collectstatic", "--noinput", "--verbosity", "0"])
    if env_str("DESTEK_WEB_SERVER", "granian") == "gunicorn":
        _exec(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "destek.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                workers,
                "--threads",
                threads,
                *args,
            ]
        )
    _exec(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            port,
            "--workers",
            workers,
            "--blocking-threads",
            threads,
            "--no-ws",
            *args,
            "destek.wsgi:application",
        ]
    )


def ws(args: Sequence[str]) -> None:
    host = env_str("HOST", "127.0.0.1")
    port = str(env_int("DESTEK_WS_PORT", 8001))
    _exec(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "destek.asgi:application",
            "--host",
            host,
            "--port",
            port,
            # Chat frames are small JSON (typing, seen, ping): a bigger one is refused.
            "--ws-max-size",
            "65536",
            # Django's ASGI application has no start-up or shut-down work to do.
            "--lifespan",
            "off",
            *args,
        ]
    )


def worker(args: Sequence[str]) -> None:
    _django(["run_huey", *args])


def ingest_email(args: Sequence[str]) -> int:
    """One message on standard input (a mail server's pipe) into the mail spool, without
    starting Django: the worker files it (mail/spool.py). Exit codes 0/65/75 (sysexits)."""
    from destek.mail.spool import accept

    source = args[0] if args else "pipe"
    return accept(sys.stdin.buffer, sys.stdout, sys.stderr, source=source)


def smtpd(args: Sequence[str]) -> int:
    """The built-in SMTP/LMTP listener (mail/smtpd.py), on DESTEK_SMTPD_HOST:DESTEK_SMTPD_PORT."""
    import django

    django.setup()
    from destek.mail.smtpd import serve

    return serve()


def run(args: Sequence[str]) -> int:
    """Everything on one machine: migrate, demo data, then web (uvicorn) and worker together.

    Ctrl-C (or SIGTERM) stops both; if either dies, the other is stopped too.
    """
    import signal
    import subprocess
    import time

    host = env_str("HOST", "127.0.0.1")
    port = env_int("PORT", 8000)
    _django(["migrate", "--noinput", "--verbosity", "0"])
    _django(["collectstatic", "--noinput", "--verbosity", "0"])
    from django.conf import settings

    if settings.DESTEK_DEMO:
        _django(["demo"])
    web_server = [
        sys.executable,
        "-m",
        "uvicorn",
        "destek.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        "--lifespan",
        "off",
    ]
    worker_process = [sys.executable, "-m", "destek.cli", "worker"]
    # Our own interpreter and fixed arguments: nothing here comes from outside.
    # Own process groups: a terminal's Ctrl-C reaches only this process, which then stops
    # each child once (a second SIGINT would make uvicorn skip its graceful shutdown).
    children = [
        subprocess.Popen(argv, process_group=0)  # noqa: S603
        for argv in (web_server, worker_process)
    ]
    print(f"\nDestek is running on http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    # Without DESTEK_BASE_URL this follows PORT (settings.py); said, so a wrong one is seen.
    print(f"Links in mails point to {settings.BASE_URL}/", flush=True)
    if settings.EMAIL_BACKEND == "destek.notify.demo_mail.DemoMailBackend":
        print(
            f"Demo mail is not sent: each one is printed here as 'mail to ...' and kept at "
            f"http://{host}:{port}/desk/demo-mail/ (sign in as admin@example.com). "
            "DESTEK_SMTP_HOST sends it instead.",
            flush=True,
        )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                code = child.returncode or 1
                stopping = True
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("Destek stopped.", flush=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "ingest-email":
        return ingest_email(args[1:])  # first, and without Django: a mail server waits on it
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings")
    command, rest = (args[0], args[1:]) if args else ("help", [])
    if command == "run":
        return run(rest)
    if command == "web":
        web(rest)
    elif command == "ws":
        ws(rest)
    elif command == "worker":
        worker(rest)
    elif command == "drain-mail-spool":
        _django(["drain_mail_spool", *rest])
    elif command == "smtpd":
        return smtpd(rest)
    elif command == "poll-mail":
        _django(["poll_mail", *rest])
    elif command in ("help", "-h", "--help"):
        print(__doc__)
        _django(["help"])
    else:
        _django([command, *rest])
    return 0


if __name__ == "__main__":
    sys.exit(main())
