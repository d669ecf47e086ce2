"""Gunicorn settings of the web process: workers, timeouts, proxies and logs; no app logic.

    gunicorn -c infra/gunicorn.conf.py "webapp:create_app()"    (what `ecoute serve` runs)

Whatever varies per deployment comes from the ``ECOUTE_*`` variables, read by
:func:`webapp.config.load_settings` like everywhere else (STYLE §6).
"""

from webapp.config import load_settings

_settings = load_settings()

_host = f"[{_settings.host}]" if ":" in _settings.host else _settings.host  # IPv6 literal
bind = f"{_host}:{_settings.port}"
workers = _settings.web_workers
worker_class = "gthread"
threads = 4
timeout = 120
graceful_timeout = 30
# Each worker builds its own app (and engine): no connection is shared across a fork.
preload_app = False

# The proxy headers are read once, by ProxyFix in create_app() with ECOUTE_PROXY_HOPS;
# gunicorn must not derive the scheme from them a second time, by its own rules.
forwarded_allow_ips = "127.0.0.1"
secure_scheme_headers: dict[str, str] = {}

# Gunicorn 25.1+ opens a control socket at $HOME/.gunicorn/gunicorn.ctl by default, one
# path shared by every instance of the user (e.g. bin/run next to the browser tests).
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# Masks reset and invitation tokens, pairing codes, and personal data in queries (customer_ref=,
# q=) in the request line, path, query and Referer of each access line (issue #13, item 7).
logger_class = "webapp.logs.AccessLogger"
loglevel = _settings.log_level.lower()
# %(M)s: duration in ms. The request id is the one the app echoes (webapp/logs.py) and puts
# on each of its own log lines, so an access line leads to them.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" req=%({x-request-id}o)s'
