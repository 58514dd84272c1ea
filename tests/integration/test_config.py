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
                 ["--body-min-rate", "0"], ["--ws-frame-timeout-ms", "-5"], ["--default-capacity", "-1"],
                 ["--default-capacity", "101"], ["--offline-email-window-ms", "5"], ["--test-clock", "x"]):
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


def test_outbound_allow():
    # a malformed allow-list refuses to start, before the data directory is touched
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        for value, says in (("10.0.0.1/8", "host bits set (the network is 10.0.0.0/8)"),
                            ("10.0.0.0/33", "prefix length must be 0..32"),
                            ("fd00::/129", "prefix length must be 0..128"),
                            ("10.0.0.0/8,,fd00::/8", "empty entry"),
                            ("intranet.local", "not an IPv4 or IPv6 address")):
            for how in ("flag", "env", "file"):
                args, env = ["--data", data], None
                if how == "flag":
                    args += ["--outbound-allow", value]
                elif how == "env":
                    env = {"PARLEY_OUTBOUND_ALLOW": value}
                else:
                    conf = os.path.join(tmp, "parley.conf")
                    with open(conf, "w") as f:
                        f.write("outbound-allow = %s\n" % value)
                    args += ["--config", conf]
                r = run(args, env=env)
                assert r.returncode == 2, (how, value, r.returncode, r.stderr)
                assert "parleyd: outbound-allow: " in r.stderr and says in r.stderr, (how, value, r.stderr)
                assert not os.path.exists(data), (how, value)
    # a good one starts, and is logged
    with Server("--outbound-allow", "10.0.0.0/8, 192.168.10.0/24,fd00::/8") as s:
        st, _, _ = s.request("GET", "/healthz")
        assert st == 200, st
        with open(s.stderr_path, encoding="utf-8", errors="replace") as f:
            log = f.read()
        assert 'app.outbound_allow' in log and 'cidrs="10.0.0.0/8, 192.168.10.0/24,fd00::/8"' in log, log


def test_help_lists_every_option():
    r = run(["--help"])
    assert r.returncode == 2
    for opt in ("--data", "--port", "--sync", "--ws-max-message", "--conv-idle-ms", "--max-body",
                "--dedupe-window", "--outbound-allow"):
        assert opt in r.stderr, opt


if __name__ == "__main__":
    main([test_bad_flags_exit_2_with_a_message, test_bad_environment_and_config_file,
          test_precedence_flag_over_env_over_file, test_outbound_allow, test_help_lists_every_option])
