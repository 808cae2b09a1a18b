"""Mutation testing of the modules that carry Majlis' guarantees (mutmut 2.5.1, pinned).

Each module is mutated one small change at a time (a flipped comparison, a changed
constant, a removed call...) and only the fast tests that cover it are run against
each mutant (no trained model, SQLite only): a mutant the tests do not notice
"survives" and shows a behaviour no test holds.  The score is killed / (killed +
survived); mutants that time out count as killed (the tests noticed: they hung).

    python bench/mutation.py                       # every target (hours on 2 cores)
    python bench/mutation.py --only security meta  # some targets, by name
    python bench/mutation.py --list

The repository is copied to a scratch directory first: mutmut rewrites the files it
mutates, and the working tree stays untouched.  Results are merged into
``bench/results/mutation.json`` (per target) and written to ``bench/results/mutation.md``
with the date, the command, the machine and every surviving mutant, each with the
reason it is equivalent when one is known (:data:`EQUIVALENT`).
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import machine_line  # noqa: E402  (bench/ is on the path now)
RESULTS = ROOT / "bench" / "results"
SQLITE_ONLY = "not postgresql"


@dataclass(frozen=True)
class Target:
    """One module and the fast tests that must kill its mutants."""

    name: str
    module: str
    tests: Sequence[str]
    select: str = ""
    """A pytest ``-k`` expression (e.g. SQLite only: PostgreSQL repeats the same checks)."""
    conftest: bool = True
    """False for tests that need no fixture: ``--noconftest`` saves importing Rasa per mutant."""
    scope: Sequence[str] = ()
    """Only these functions, methods (``Class.method``) or classes are mutated; empty: the whole module."""
    model: bool = False
    """The tests load the trained model (``models/`` is copied into the scratch directory)."""


#: The desk's authorisation through its HTTP routes (sessions, CSRF, scopes, roles, ownership).
DESK_AUTH_TESTS = ("tests/bot/agent_desk/test_api.py", "tests/bot/agent_desk/test_openapi_scopes.py",
                   "tests/bot/agent_desk/test_session_storage.py")

#: Signature checks, dedupe, ownership and authorisation first (aim: no survivor), then the rest.
TARGETS: Sequence[Target] = (
    Target("security", "bot/agent_desk/security.py", ["tests/bot/agent_desk/test_security.py"], conftest=False),
    Target("meta", "channels/meta/graph.py", ["tests/channels/test_meta_signature.py",
                                         "tests/channels/test_meta_graph_client.py"], conftest=False),
    Target("twilio_signature", "channels/twilio/signature.py", ["tests/channels/test_twilio_signature.py"],
           conftest=False),
    Target("whatsapp_webhook", "channels/whatsapp_cloud/webhook.py", ["tests/channels/test_whatsapp_webhook_record.py"],
           conftest=False),
    Target("instagram_webhook", "channels/instagram/webhook.py",
           ["tests/channels/test_instagram_webhook_record.py"], conftest=False),
    # Same-origin and CSRF refusals are asserted by the CORS/error and cookie tests, not by the API tests.
    Target("desk_http_auth", "bot/agent_desk/http.py",
           [*DESK_AUTH_TESTS[:2], "tests/bot/agent_desk/test_errors_and_cors.py",
            "tests/bot/agent_desk/test_media_and_cookies.py"], SQLITE_ONLY,
           scope=("same_origin", "check_csrf", "identify")),
    Target("desk_accounts_auth", "bot/agent_desk/accounts.py", DESK_AUTH_TESTS[:3], SQLITE_ONLY,
           scope=("AccountStore.authenticate", "AccountStore.session", "AccountStore.integration")),
    Target("desk_api_roles", "bot/agent_desk/api.py", DESK_AUTH_TESTS[:2], SQLITE_ONLY,
           scope=("register_api.one", "register_api.stats")),
    Target("handoff_gate", "bot/handoff/gate.py",
           ["tests/bot/handoff/test_gate.py", "tests/bot/handoff/test_gate_identity.py"],
           scope=("poses_as_another_channel", "HandoffGate.install", "HandoffGate.process"), model=True),
    Target("handoff_desk", "bot/handoff/desk.py",
           ["tests/bot/handoff/test_routing.py", "tests/bot/agent_desk/test_transfer_rules.py"], SQLITE_ONLY,
           scope=("Actor.oversees", "Actor.serves", "Actor.can_view", "Actor.can_act", "DeskOperations.get", "DeskOperations.claim", "DeskOperations.release",
                  "DeskOperations.transfer", "DeskOperations._check_target", "DeskOperations.acting",
                  "DeskOperations.close")),
    Target("handoff_service", "bot/handoff/service.py", ["tests/bot/handoff/test_gate.py"],
           scope=("HandoffService.start", "HandoffService.open_for", "HandoffService.complete_handback"),
           model=True),
    Target("handoff_store", "bot/handoff/store.py", ["tests/bot/handoff/test_store.py"], SQLITE_ONLY),
    Target("delivery_store", "bot/delivery/store.py",
           ["tests/bot/delivery/test_store.py", "tests/bot/delivery/test_store_claims.py"], SQLITE_ONLY,
           scope=("DeliveryStore._accept", "DeliveryStore._claim_next_inbound", "DeliveryStore._claim",
                  "DeliveryStore._finish_and_claim_next", "DeliveryStore._finish", "DeliveryStore._recover",
                  "DeliveryStore._enqueue", "DeliveryStore._enqueue_reply", "DeliveryStore._outbox_by_key")),
    Target("delivery_sender", "bot/delivery/sender.py", ["tests/bot/delivery/test_backoff_and_window.py"],
           SQLITE_ONLY),
    Target("delivery_dispatch", "bot/delivery/dispatch.py", ["tests/bot/delivery"], SQLITE_ONLY),
    Target("delivery_service", "bot/delivery/service.py", ["tests/bot/delivery"], SQLITE_ONLY),
    Target("delivery_replay", "bot/delivery/replay.py", ["tests/bot/delivery/test_replay.py"], SQLITE_ONLY),
    Target("delivery_killpoint", "bot/delivery/killpoint.py", ["tests/bot/delivery/test_killpoint.py"],
           conftest=False),
    Target("gateway_journal", "bot/gateway/journal.py", ["tests/bot/gateway/test_journal.py"]),
    Target("gateway_relay", "bot/gateway/relay.py", ["tests/bot/gateway/test_journal.py"]),
    Target("gateway_notice", "bot/gateway/notice.py", ["tests/bot/gateway/test_notice.py"]),
    Target("gateway_sweep", "bot/gateway/sweep.py", ["tests/bot/gateway/test_sweep.py"]),
)

#: Surviving mutants known to be equivalent (no behaviour changes): module → [(a line of
#: the mutated code, why)].  A survivor not listed here is a missing test.
_MAXMEM = ("scrypt's maxmem is only a ceiling on the memory it may use (it needs 128·n·r·p bytes); "
           "a larger ceiling changes no hash and refuses no password.")
_ALIAS = "A type alias only used in annotations, which `from __future__ import annotations` never evaluates."
EQUIVALENT: Dict[str, List[tuple]] = {
    "bot/agent_desk/security.py": [("maxmem=129 *", _MAXMEM), ("* 3, dklen", _MAXMEM)],
    "bot/agent_desk/http.py": [
        ('origin == "XXnullXX"', "An Origin of 'null' then reaches urlsplit('null').netloc, which is '' and never the "
                                 "desk's host: refused either way."),
        ('request.headers.get("Authorization", "XXXX")', "A missing header and the mutant's default both lack "
                                                         "'Bearer ': no token either way."),
        ('logger.warning("XXDesk request refused', "The wording of a WARNING line (no data in it either way)."),
    ],
    "channels/meta/graph.py": [
        ('args.get("hub.mode", "XXXX")', "A missing hub.mode and the mutant's default are both not "
                                          "'subscribe': refused and logged the same."),
        ("self._owns_session = None", "Only read by close(), where None and False are both false; a "
                                      "session the client creates itself sets it to True."),
    ],
    "bot/delivery/replay.py": [
        ('_replaying: "XXcontextvars', "A string annotation: never evaluated."),
        ('ContextVar("XXmajlis_replayingXX"', "The context variable's name only shows in its repr."),
        ("_installed = None", "None and False are both false: the first install() still installs."),
        ('logger.debug("XXRe-processed', "The wording of a DEBUG line."),
    ],
    "channels/whatsapp_cloud/webhook.py": [
        ("+Conversation = None", _ALIAS),
        ("delivery: Delivery, schedule: bool = False", "A default no caller uses: record_webhook passes its own "
                                                        "schedule, the receiver passes schedule=False."),
        ('(content_type or "XXXX")', "No Content-Type gives 'xxxx' instead of '': neither is application/json, "
                                     "both refused with the same 415 (asserted for None)."),
        ('.split(";", 2)[0]', "The part before the first ';' is the same whatever the split limit."),
    ],
    "channels/instagram/webhook.py": [
        ("+Answer = None", _ALIAS),
        ("slots=False", "__slots__ only changes the instance's memory layout; the tests check that a request is "
                        "immutable and keyword-only, which it still is."),
    ],
    "bot/gateway/notice.py": [
        ("+Conversation = None", _ALIAS),
        ("+Answer = None", _ALIAS),
        ("ensure_ascii=True", "\\u escapes decode to the same strings; decode_notice (the only reader) returns the "
                              "same conversations, Arabic customer ids included (test_round_trip_keeps_order_and_unicode)."),
        ('ValueError("XX', "The ValueError's text is never shown: handle_notice answers 'malformed notice' and logs "
                           "only the exception's type name (asserted)."),
        ('logger.debug("XXInbox notice', "The wording of a DEBUG line."),
        ('"XXContent-TypeXX"', "The only reader, handle_notice, parses the raw body and never looks at Content-Type."),
        ('"XXapplication/jsonXX"', "The only reader, handle_notice, parses the raw body and never looks at Content-Type."),
        ('f"XXHTTP {status}XX"', "The wording of the failure reason in a WARNING line (the status code stays in it)."),
        ('self._pending[conversation] = ""', "The dict is an ordered set: its values are never read."),
        ("+        self._closing = None", "Only read as a truth value (notify, close): None and False are both false."),
        ("+        self._failing = None", "Only read as a truth value (_send, _failed): None and False are both false."),
        ("timeout: float = 6.0", "A tuning constant (how long a receiver waits for the Rasa process): no test may "
                                 "time it (no wall-clock margins); that a timeout exists and ends a hung notice is "
                                 "tested (test_a_hanging_rasa_process_costs_one_timed_out_notice_not_a_stuck_notifier)."),
    ],
    "bot/delivery/store.py": [
        ("ensure_ascii=True", "\\u escapes decode to the same payload: the column is only read back through "
                              "json.loads (Arabic payloads round-trip in test_store_claims)."),
        ('"XXattemptsXX": 0', "The column's default is 0: the row holds the same count without the key."),
        ("item.id or 1", "Every accepted item was read back from the table, so it has its id: the fallback is "
                         "never taken."),
        ('IntegrityError("XXoutbox insertXX"', "Unreachable: the insert conflicted on this very key, so the row "
                                               "is there to be read."),
        ('Exception("XXkey neither inserted nor foundXX")', "Unreachable: the insert conflicted on this very "
                                                            "key, so the row is there to be read."),
    ],
    "bot/delivery/killpoint.py": [
        ('logger.warning("XXTest crash point', "The test reads the WARNING line; mutmut's XX padding keeps "
                                               "the whole line in it (only the wording around it changes)."),
    ],
}


#: Survivors of a past run that a test added since kills (checked by hand, the module not run
#: again yet): module → [(a line of the mutated code, the test)].  Still counted as survivors.
KILLED_SINCE: Dict[str, List[tuple]] = {
    "bot/agent_desk/http.py": [
        ('Forbidden("XXmissing or invalid CSRF tokenXX")', "tests/bot/agent_desk/test_api.py::test_the_csrf_token_of_a_form_and_what_each_refusal_says"),
        ('Unauthorized("XXinvalid or revoked tokenXX")', "tests/bot/agent_desk/test_api.py::test_the_csrf_token_of_a_form_and_what_each_refusal_says"),
        ('Unauthorized("XXsign in firstXX")', "tests/bot/agent_desk/test_api.py::test_the_csrf_token_of_a_form_and_what_each_refusal_says"),
        ('Forbidden("XXthe desk API cannot be read from another siteXX")', "tests/bot/agent_desk/test_api.py::test_the_csrf_token_of_a_form_and_what_each_refusal_says"),
        ('Forbidden(f"XXthis token lacks the {scope} scopeXX")', "tests/bot/agent_desk/test_openapi_scopes.py::"
                                                                  "test_answers_match_the_spec_and_scopes_are_enforced"),
    ],
    "bot/handoff/desk.py": [
        ('"XXadminXX"', "tests/bot/handoff/test_routing.py::test_supervisors_and_admins_oversee_every_queue"),
        ('"XXno such handoffXX"', "tests/bot/handoff/test_routing.py::test_an_agent_cannot_open_or_take_a_"
                                  "conversation_in_another_language"),
        ('"XXthis handoff is not in a queue you serveXX"', "tests/bot/handoff/test_routing.py::test_an_agent_"
                                                          "cannot_open_or_take_a_conversation_in_another_language"),
        ('self.role == "XXtrainerXX"', "tests/bot/handoff/test_routing.py::test_an_admin_takes_any_conversation_"
                                      "a_trainer_only_reads"),
        ('self.oversees and self.role == "trainer"', "tests/bot/handoff/test_routing.py::test_an_admin_takes_any_"
                                                    "conversation_a_trainer_only_reads"),
        ('("XX*XX" in self.queues', "tests/bot/handoff/test_routing.py::test_serves_needs_both_the_queue_and_the_"
                                    "language (the '*' queues cases)"),
    ],
    "channels/_instagram_webhook.py": [
        ("account_ids[1]", "tests/channels/test_instagram_webhook_record.py::"
                           "test_an_inline_comment_belongs_to_the_first_configured_account"),
    ],
}


#: Mutations applied by hand on 2026-12-07 (one at a time, reverted after) to check that each
#: finding of issue 18 has a test that fails on it: (finding, file, mutation, the test that failed).
#: Modules whose tests need the trained model are too slow for mutmut here; these stand in.
HAND_CHECKED: Sequence[tuple] = (
    ("1 crash re-run", "bot/delivery/replay.py", "the re-run check off (a re-processed message goes through "
     "Rasa again)", "delivery/test_replay.py::test_a_reprocessed_turn_logs_the_message_once_and_sends_the_first_"
     "runs_reply_once"),
    ("2 hand-back at start-up", "bot/handoff/service.py", "start() finishes no closed handoff (loop over [])",
     "test_gate.py::test_a_hand_back_interrupted_by_a_restart_is_finished_at_start_up_once"),
    ("2 hand-back at start-up", "bot/handoff/service.py", "hand-back keys made unique per call (a re-run "
     "sends the hand-back again)", "test_gate.py::test_a_hand_back_interrupted_by_a_restart_is_finished_at_start_up_once"),
    ("2 exact counts", "bot/handoff/service.py", "the hand-back message sent a second time (another key)",
     "test_gate.py::test_rating_after_hand_back_on_whatsapp"),
    ("2 gate", "bot/handoff/gate.py", "an assigned conversation no longer silences the bot (with the tracker "
     "resumed behind the gate's back)",
     "test_gate.py::test_hand_off_stay_silent_and_hand_back"),
    ("2 gate", "bot/handoff/gate.py", "the gate no longer finishes a closed-but-not-handed-back conversation "
     "(`complete_handback(record, tracker=…)` removed, as a mutmut run showed surviving)",
     "test_gate.py::test_a_customer_writing_after_an_unfinished_hand_back_gets_it_then_an_answer"),
    ("2 gate", "bot/handoff/gate.py", "poses_as_another_channel always False",
     "test_gate_identity.py::test_a_rest_caller_cannot_pose_as_a_whatsapp_customer"),
    ("3 desk XSS", "bot/agent_desk/static/desk.js", "the English summary set with innerHTML",
     "test_xss_browser.py::test_hostile_text_is_shown_as_text"),
    ("3 desk XSS", "bot/agent_desk/static/desk.js", "the context card's facts set with innerHTML",
     "test_xss_browser.py::test_hostile_text_is_shown_as_text"),
    ("4 routing by language", "bot/handoff/desk.py", "Actor.serves ignores the language",
     "test_routing.py::test_an_agent_cannot_open_or_take_a_conversation_in_another_language"),
    ("4 ownership", "bot/handoff/desk.py", "release/close without the owner check (the store still refuses: 409)",
     "test_transfer_rules.py::test_only_the_owner_releases_transfers_or_closes_a_conversation"),
    ("4 journal fsync", "bot/gateway/journal.py", "the connection opened with synchronous=NORMAL",
     "test_journal.py::test_appends_commit_with_synchronous_full_also_after_a_removal"),
    ("4 retry backoff", "bot/delivery/dispatch.py", "the stored retry time ignored",
     "test_backoff_and_window.py::test_a_stored_retry_time_is_honoured_after_a_restart"),
    ("4 retry backoff", "bot/delivery/sender.py", "no exponential growth (cap = base delay)",
     "test_backoff_and_window.py::test_each_failed_attempt_stores_an_exponentially_later_retry_time"),
    ("4 24-hour window", "bot/delivery/service.py", "a 25-hour window",
     "test_backoff_and_window.py::test_window_boundary_one_second_either_side"),
    ("5 receipt ordering", "channels/_whatsapp_sender.py", "the reply does not wait for the read receipt",
     "test_whatsapp_cloud_turn.py::test_message_is_processed_while_the_receipt_is_in_flight"),
    ("5 verify token", "channels/_meta.py", "the verify token logged at WARNING",
     "test_whatsapp_receiver.py::test_the_process_records_then_stops_gracefully_on_sigterm"),
    ("5 PII in tracebacks", "bot/storage/engine.py", "hide_parameters=False (SQL errors list the parameters)",
     "delivery/test_logs.py::test_a_database_error_during_a_turn_is_logged_without_the_message_or_the_number"),
    ("5 web chat re-send", "channels/webchat.py", "a re-sent message gets a new inbox id",
     "test_webchat_security.py::test_the_kept_token_resumes_the_session_after_a_reconnect_and_resends_are_answered_once"),
    ("5 web chat JWT", "channels/webchat.py", "the socket's jwt_key not checked",
     "test_webchat_security.py::test_with_a_jwt_key_only_a_socket_with_a_valid_token_connects"),
    ("5 session-token hashing", "bot/agent_desk/security.py", "token_hash returns the token",
     "test_session_storage.py::test_the_database_keeps_only_a_hash_of_the_session_token"),
    ("5 Secure cookie", "bot/agent_desk/http.py", "the Secure flag never set",
     "test_session_storage.py::test_the_secure_cookie_flag"),
    ("Instagram inline comment", "channels/_instagram_webhook.py", "inline comments checked against the "
     "account ids (the bug: dropped)", "test_instagram_webhook_record.py::"
     "test_an_inline_comment_belongs_to_the_first_configured_account"),
)


@dataclass
class Outcome:
    target: str
    module: str
    runner: str
    killed: int = 0
    timeout: int = 0
    suspicious: int = 0
    survived: int = 0
    skipped: int = 0
    seconds: float = 0.0
    survivors: List[Dict[str, str]] = field(default_factory=list)
    scope: List[str] = field(default_factory=list)

    @property
    def score(self) -> Optional[float]:
        tested = self.killed + self.timeout + self.suspicious + self.survived
        return None if tested == 0 else (self.killed + self.timeout + self.suspicious) / tested


def scratch_copy() -> Path:
    """The tracked files of the repository (as they are in the working tree), in a temp dir."""
    scratch = Path(tempfile.mkdtemp(prefix="majlis-mutation-"))
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)
    return scratch


def link_models(scratch: Path) -> None:
    """The trained models (not tracked by git) for tests that load one; never trained here."""
    models = scratch / "models"
    if not models.exists() and (ROOT / "models").is_dir():
        models.symlink_to(ROOT / "models", target_is_directory=True)


def environment(scratch: Path) -> Dict[str, str]:
    """What ``./majlis test`` exports (scripts/lib.sh), for the scratch copy."""
    data = scratch / "var"
    data.mkdir(exist_ok=True)
    return {**os.environ, "MAJLIS_DATA_DIR": str(data), "PYTHONPATH": str(scratch),
            "MAJLIS_ACTION_ENDPOINT": "http://127.0.0.1:5055/webhook", "MAJLIS_TRACKER_DB": str(data / "tracker.sqlite"),
            "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning"}


def scoped_lines(source: str, scope: Sequence[str]) -> List[int]:
    """The line numbers (1-based) of the named functions/methods/classes, decorators included."""
    found: Dict[str, ast.AST] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                found[name] = child
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    missing = [name for name in scope if name not in found]
    if missing:
        raise SystemExit(f"not in the module: {', '.join(missing)}")
    lines: set = set()
    for name in scope:
        node = found[name]
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        lines.update(range(first, node.end_lineno + 1))
    return sorted(lines)


def mutmut_with_lines(lines_file: str, args: Sequence[str]) -> int:
    """``mutmut <args>`` mutating only the lines listed in ``lines_file`` (JSON: path → lines).

    mutmut 2.5 limits a run to the lines a patch adds (``--use-patch-file``) but needs the
    whatthepatch package to read the patch; the same line sets are given to it directly.
    """
    import mutmut.__main__ as cli

    chosen = {os.path.normpath(path): set(lines) for path, lines in json.loads(Path(lines_file).read_text()).items()}
    cli.read_patch_data = lambda _path: chosen
    try:
        cli.climain.main(list(args), prog_name="mutmut")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def runner_for(target: Target) -> str:
    command = [sys.executable, "bench/mutation.py", "--pytest", "-x", "-q", "-p", "no:cacheprovider", *target.tests]
    if target.select:
        command += ["-k", target.select]
    if not target.conftest:
        command.append("--noconftest")
    return shlex.join(command)


def run_target(target: Target, scratch: Path) -> Outcome:
    """mutmut over one module in the scratch copy; its counts and surviving diffs."""
    env = environment(scratch)
    cache = scratch / ".mutmut-cache"
    if cache.exists():
        cache.unlink()
    outcome = Outcome(target=target.name, module=target.module, runner=runner_for(target), scope=list(target.scope))
    started = time.monotonic()
    command = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", target.module,
               "--runner", outcome.runner, "--tests-dir", "tests", "--simple-output", "--no-progress"]
    if target.scope:
        lines = scratch / ".mutation-lines.json"
        source = (scratch / target.module).read_text(encoding="utf-8")
        lines.write_text(json.dumps({target.module: scoped_lines(source, target.scope)}))
        command = [sys.executable, "bench/mutation.py", "--mutmut-lines", str(lines), *command[3:],
                   "--use-patch-file", str(lines)]
    if target.model:
        link_models(scratch)
    for _attempt in range(RESTARTS + 1):
        if run_watched(command, scratch, env, cache):
            break
    outcome.seconds = round(time.monotonic() - started, 1)
    counts = parse_cache(cache)
    outcome.killed, outcome.timeout = counts["killed"], counts["timeout"]
    outcome.suspicious, outcome.survived, outcome.skipped = counts["suspicious"], counts["survived"], counts["skipped"]
    for mutant in counts["survivor_ids"]:
        diff = subprocess.run([sys.executable, "-m", "mutmut", "show", str(mutant)], cwd=scratch, env=env,
                              capture_output=True, text=True).stdout.strip()
        outcome.survivors.append({"id": str(mutant), "diff": diff, "equivalent": equivalence(target.module, diff)})
    return outcome


#: mutmut 2.5 counts only exit status 1 as "the tests noticed"; pytest's 2 (an import error
#: while collecting, e.g. a mutated constant that breaks the module) would pass as a survivor.
STATUSES = {"ok_killed": "killed", "bad_timeout": "timeout", "ok_suspicious": "suspicious",
            "bad_survived": "survived", "skipped": "skipped", "untested": "skipped"}


#: mutmut 2.5's worker process can die and leave ``mutmut run`` waiting forever (seen on a
#: loaded machine): with no mutant finished for this long, it is stopped and run again,
#: which goes on with the mutants not tested yet (the cache keeps the others).
STALL_S = 300.0
RESTARTS = 3


def tested(cache: Path) -> int:
    try:
        with sqlite3.connect(cache) as db:
            return int(db.execute("SELECT COUNT(*) FROM Mutant WHERE status != 'untested'").fetchone()[0])
    except sqlite3.Error:
        return 0


def run_watched(command: Sequence[str], cwd: Path, env: Dict[str, str], cache: Path) -> bool:
    """Run mutmut; True when it ended by itself, False when it stalled and was stopped."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    done, since = tested(cache), time.monotonic()
    while process.poll() is None:
        time.sleep(5)
        now_done = tested(cache)
        if now_done != done:
            done, since = now_done, time.monotonic()
        elif time.monotonic() - since > STALL_S:
            os.killpg(process.pid, signal.SIGKILL)  # mutmut, its worker and the test run it waits for
            process.wait()
            print(f"  mutmut stalled after {done} mutants; running it again", flush=True)
            return False
    return True


def parse_cache(cache: Path) -> Dict:
    """Counts per outcome and the surviving mutant ids, from mutmut's cache database."""
    counts: Dict = {"killed": 0, "timeout": 0, "suspicious": 0, "survived": 0, "skipped": 0, "survivor_ids": []}
    with sqlite3.connect(cache) as db:
        for status, number in db.execute("SELECT status, COUNT(*) FROM Mutant GROUP BY status"):
            counts[STATUSES.get(status, "skipped")] += number
        counts["survivor_ids"] = [row[0] for row in db.execute(
            "SELECT id FROM Mutant WHERE status = 'bad_survived' ORDER BY id")]
    return counts


def pytest_exit(args: Sequence[str]) -> int:
    """Run pytest in this process; 0 when every test passed, else 1 (what mutmut understands)."""
    import pytest

    return 0 if pytest.main(list(args)) == 0 else 1


def equivalence(module: str, diff: str) -> str:
    for needle, why in EQUIVALENT.get(module, []):
        if needle in diff:
            return why
    return ""


def explanation(module: str, diff: str) -> str:
    """Why a survivor survived, from the current tables (not the one stored with the run)."""
    for needle, test in KILLED_SINCE.get(module, []):
        if needle in diff:
            return (f"**Not equivalent: killed since this run by `{test}`** (the test was added after the run, "
                    "the module fixed where it had a bug; checked by hand, not re-run).")
    return equivalence(module, diff) or "**not explained: a missing test**"


def mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def report(outcomes: Dict[str, Dict], command: str) -> str:
    rows, survivors = [], []
    totals = {"killed": 0, "timeout": 0, "suspicious": 0, "survived": 0}
    known = {t.name for t in TARGETS}
    adhoc = [Target(name, data["module"], [data["runner"]]) for name, data in outcomes.items() if name not in known]
    for target in [*TARGETS, *adhoc]:
        data = outcomes.get(target.name)
        where = target.module + (f" ({', '.join(target.scope)})" if target.scope else "")
        if data is None:
            rows.append(f"| {where} | — | — | — | — | not run yet |")
            continue
        killed = data["killed"] + data["timeout"] + data["suspicious"]
        tested = killed + data["survived"]
        for key in totals:
            totals[key] += data[key]
        explained = sum(1 for s in data["survivors"] if equivalence(target.module, s["diff"]))
        score = f"{100 * killed / tested:.1f}%" if tested else "—"
        rows.append(f"| {where} | {tested} | {killed} | {data['survived']} ({explained} equivalent) | "
                    f"{score} | {data['seconds']:.0f} s, `{' '.join(target.tests)}`"
                    f"{' -k ' + repr(target.select) if target.select else ''}"
                    f"{'; **partial run: ' + str(data['skipped']) + ' mutants not tested**' if data['skipped'] else ''} |")
        for survivor in data["survivors"]:
            note = explanation(target.module, survivor["diff"])
            survivors.append(f"#### {target.module} · mutant {survivor['id']}\n\n{note}\n\n```diff\n{survivor['diff']}\n```\n")
    killed = totals["killed"] + totals["timeout"] + totals["suspicious"]
    tested = killed + totals["survived"]
    score = f"{100 * killed / tested:.1f}%" if tested else "—"
    stamp = max((o["date"] for o in outcomes.values()), default="—")
    lines = [
        "# Mutation testing",
        "",
        f"Mutation score **{score}** ({killed} of {tested} mutants killed) over the modules run so far; "
        f"last run {stamp}, mutmut {mutmut_version()}.",
        "",
        f"Command: `{command}` (one target: `--only <name>`; names in the table's order: "
        f"{', '.join(t.name for t in TARGETS)}).",
        machine_line(),
        "",
        "Each mutant is run against only the fast tests that cover its module (no trained model; "
        "SQLite only where PostgreSQL repeats the same checks); a timeout counts as killed.",
        "A module followed by names in brackets was mutated only in those functions (the guarantee they "
        "carry: dedupe and claims, ownership, authorisation); the rest of the module is not counted.",
        "Timings depend on the machine's load: runs of 2026-12-07 after 11:00 UTC shared 2 cores with other "
        "jobs at a load average of 15–20 (mutmut's timeouts then count a few slow runs as killed).",
        "",
        "| module | mutants | killed | survived | score | time, tests |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Surviving mutants",
        "",
        *(survivors or ["None."]),
        "",
        "## Hand mutations (issue 18's findings)",
        "",
        "Applied one at a time on 2026-12-07 and reverted; each made the named test fail "
        "(tests/ paths shortened).",
        "",
        "| finding | file | mutation | test that failed |",
        "|---|---|---|---|",
        *(f"| {finding} | {path} | {change} | `{test}` |" for finding, path, change, test in HAND_CHECKED),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="target names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--report", action="store_true",
                        help="only write mutation.md again from mutation.json (e.g. after explaining survivors)")
    parser.add_argument("--results", default=str(RESULTS), help="where mutation.json/.md go")
    parser.add_argument("--module", help="mutate this module instead of the targets (with --tests)")
    parser.add_argument("--tests", nargs="+", default=[], help="the tests run against --module's mutants")
    parser.add_argument("--pytest", nargs=argparse.REMAINDER, help="(mutmut's runner) pytest with these arguments")
    parser.add_argument("--mutmut-lines", nargs=argparse.REMAINDER,
                        help="(internal) LINES_JSON and mutmut's arguments: mutmut on those lines only")
    args = parser.parse_args(argv)
    if args.pytest is not None:
        return pytest_exit(args.pytest)
    if args.mutmut_lines is not None:
        return mutmut_with_lines(args.mutmut_lines[0], args.mutmut_lines[1:])
    if args.list:
        for target in TARGETS:
            print(f"{target.name:18} {target.module:34} {' '.join(target.tests)}")
        return 0
    chosen = [t for t in TARGETS if not args.only or t.name in args.only]
    unknown = set(args.only or ()) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    if args.module:
        if not args.tests:
            parser.error("--module needs --tests")
        chosen = [Target(Path(args.module).stem, args.module, args.tests, conftest=False)]
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    store = results / "mutation.json"
    outcomes: Dict[str, Dict] = json.loads(store.read_text()) if store.exists() else {}
    if args.report:
        chosen = []
    scratch = scratch_copy() if chosen else None
    try:
        for target in chosen:
            print(f"mutating {target.module} ...", flush=True)
            outcome = run_target(target, scratch)
            data = {**asdict(outcome), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
            outcomes[target.name] = data
            store.write_text(json.dumps(outcomes, indent=1, ensure_ascii=False) + "\n")
            print(f"  {outcome.killed + outcome.timeout + outcome.suspicious} killed, {outcome.survived} survived, "
                  f"{outcome.seconds:.0f} s", flush=True)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    (results / "mutation.md").write_text(report(outcomes, "python bench/mutation.py"), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
