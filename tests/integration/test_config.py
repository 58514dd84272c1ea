"""Configuration: flags, environment and config file, and bad values."""
import os
import subprocess
import tempfile

from harness import PARLEYD, Server, main


def run(args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PARLEYD] + args, capture_output=True, text=True, timeout=timeout, env=e)


def test_bad_flags_exit_2_with_a_message():
    for args in (["--no-such-flag"], ["--port", "abc"], ["--port"], ["--sync=sometimes"],
                 ["--io-threads", "0"], ["--log-level", "loud"], ["stray"], ["--dedupe-window", "0"],
                 ["--dedupe-window", "100000000"], ["--header-timeout-ms", "0"], ["--idle-timeout-ms", "0"],
                 ["--ws-ping-ms", "0"], ["--ws-auth-timeout-ms", "0"], ["--ws-frame-timeout-ms", "0"],
                 ["--body-min-rate", "0"], ["--ws-frame-timeout-ms", "-5"]):
        r = run(args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert "parleyd:" in r.stderr, (args, r.stderr)


def test_bad_environment_and_config_file():
    r = run([], env={"PARLEY_PORT": "-1"})
    assert r.returncode == 2 and "PARLEY_PORT" in r.stderr, r.stderr
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("# comment\nport = 0\nbogus-option = 1\n")
    try:
        r = run(["--config", f.name])
        assert r.returncode == 2 and ":3: bad option" in r.stderr, r.stderr
    finally:
        os.unlink(f.name)
    r = run(["--config", "/nonexistent/parley.conf"])
    assert r.returncode == 2 and "cannot read config" in r.stderr, r.stderr


def test_precedence_flag_over_env_over_file():
    # the file asks for a 1-byte body limit, the environment for 2048, the flag wins with 100
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("max-body = 1\n")
    try:
        os.environ["PARLEY_MAX_BODY"] = "2048"
        with Server("--config", f.name, "--max-body", "100") as s:
            st, b, _ = s.request("POST", "/v1/auth/login", raw_body=b"x" * 101,
                                 headers={"Content-Type": "application/json"})
            assert st == 413, (st, b)
            st, b, _ = s.request("POST", "/v1/auth/login", raw_body=b"{}",
                                 headers={"Content-Type": "application/json"})
            assert st == 400 and b["error"]["field"] == "email", (st, b)
        with Server("--config", f.name) as s:   # no flag: the environment beats the file
            st, b, _ = s.request("POST", "/v1/auth/login", raw_body=b"{" + b" " * 1500 + b"}",
                                 headers={"Content-Type": "application/json"})
            assert st == 400, (st, b)
    finally:
        os.environ.pop("PARLEY_MAX_BODY", None)
        os.unlink(f.name)


def test_help_lists_every_option():
    r = run(["--help"])
    assert r.returncode == 2
    for opt in ("--data", "--port", "--sync", "--ws-max-message", "--conv-idle-ms", "--max-body",
                "--dedupe-window"):
        assert opt in r.stderr, opt


if __name__ == "__main__":
    main([test_bad_flags_exit_2_with_a_message, test_bad_environment_and_config_file,
          test_precedence_flag_over_env_over_file, test_help_lists_every_option])
