"""When the runner hands steps to the recorder: after an outside effect, before a
blocking wait, and the rest with the finish."""

from __future__ import annotations

from a2e.engine.memory import MemoryRunRecorder


class CommitLog(MemoryRunRecorder):
    """Records which steps each commit carried."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[tuple[str, list[str]]] = []

    def commit_steps(self, run_id, steps):
        self.commits.append(("steps", [step.op_id for step in steps]))
        super().commit_steps(run_id, steps)

    def finish_run(self, run_id, finish, steps):
        self.commits.append(("finish", [step.op_id for step in steps]))
        super().finish_run(run_id, finish, steps)


NOW = ("now", "GetCurrentDateTime", {"outputPath": "/workflow/now"})
SAVE = ("save", "StoreData", {"inputPath": "/workflow/now", "storage": "db", "key": "k"})
NAP = ("nap", "Wait", {"duration": 10})


def test_a_run_without_outside_effects_commits_its_steps_with_the_finish(make_runner, run_workflow):
    recorder = CommitLog()
    result = run_workflow([NOW, ("again", *NOW[1:])], runner=make_runner_with(make_runner, recorder))
    assert result.status == "succeeded"
    assert recorder.commits == [("finish", ["now", "again"])]


def test_steps_are_committed_after_an_outside_effect_and_before_a_wait(make_runner, run_workflow):
    recorder = CommitLog()
    result = run_workflow([NOW, SAVE, ("now2", *NOW[1:]), NAP, ("now3", *NOW[1:])],
                          runner=make_runner_with(make_runner, recorder))
    assert result.status == "succeeded"
    assert recorder.commits == [
        ("steps", ["now", "save"]),  # StoreData changed something outside the run
        ("steps", ["now2"]),  # before the Wait sleeps
        ("finish", ["nap", "now3"]),
    ]
    assert [step.op_id for step in recorder.runs[1].steps] == ["now", "save", "now2", "nap", "now3"]


def test_a_failed_step_goes_with_the_finish(make_runner, run_workflow):
    recorder = CommitLog()
    result = run_workflow([NOW, ("bad", "Calculate", {"inputPath": "/workflow/missing",
                                                      "operation": "round"})],
                          runner=make_runner_with(make_runner, recorder))
    assert result.status == "failed"
    assert recorder.commits == [("finish", ["now", "bad"])]


def make_runner_with(make_runner, recorder):
    runner = make_runner()
    runner.recorder = recorder
    return runner
