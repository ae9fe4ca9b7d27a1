"""The library's contracts with its callers: warm starts decided by the NLP, no output and no backend switch."""

import logging
import subprocess
import sys

import casadi as ca
import pytest

import ocp


def scalar_problem(dynamics: str) -> ocp.Problem:
    """Two problems of the same size (1 state, 1 control) that are different NLPs."""
    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    f = {"drift": x + u, "decay": -x + u}[dynamics]
    return ocp.Problem(
        state=x,
        control=u,
        dynamics=f,
        horizon=ocp.Horizon.fixed(1.0),
        initial_state=[1.0],
        running_costs={"effort": u**2},
        terminal_costs={"miss": 10 * x**2},
    )


def test_only_a_solution_of_the_same_nlp_warm_starts():
    method = ocp.MultipleShooting(K=10)
    drift = ocp.OCPSolver(scalar_problem("drift"), method)
    decay = ocp.OCPSolver(scalar_problem("decay"), method)
    assert drift.nlp.layout.size == decay.nlp.layout.size  # equal sizes: the old rule took this as a warm start
    assert drift.nlp_key != decay.nlp_key
    own = drift.solve()
    other = decay.solve()
    again = drift.solve(initial_guess=own)
    assert again.first_order.get("skipped") == "warm start"
    assert again.iterations <= 2
    # the other NLP's solution is a guess (interpolated), not primal and multipliers to start from
    from_other = drift.solve(initial_guess=other)
    assert from_other.first_order.get("skipped") != "warm start"
    assert from_other.objective == pytest.approx(own.objective, rel=1e-9)
    # an equal NLP built again (the same description) warm-starts: the key is the description's, not the object's
    rebuilt = ocp.OCPSolver(scalar_problem("drift"), method)
    assert rebuilt.nlp_key == drift.nlp_key
    assert rebuilt.solve(initial_guess=own).first_order.get("skipped") == "warm start"


def test_the_nlp_key_survives_save_and_load(tmp_path):
    solver = ocp.OCPSolver(scalar_problem("drift"), ocp.MultipleShooting(K=10))
    loaded = ocp.Solution.load(solver.solve().save(tmp_path / "s.npz"))
    assert loaded.nlp_key == solver.nlp_key
    assert solver.solve(initial_guess=loaded).first_order.get("skipped") == "warm start"


def test_the_library_prints_nothing_unless_asked(capsys, caplog):
    from ocp.run.solve import parse_config, solve_run

    config = {"problem": "l2", "T": 1.0, "K": 4, "data": {"source": "annulus", "n_train": 8, "n_test": 8}}
    config |= {"multistart": {"starts": 1, "extra_strategies": []}}
    run, settings, ptype = parse_config(config)
    with caplog.at_level(logging.INFO, logger="ocp"):
        solution = solve_run(run, ptype.build(settings, run))
    assert solution.success
    assert capsys.readouterr().out == ""  # nothing on stdout from the library itself
    assert any("solving (first_order start)" in r.getMessage() for r in caplog.records)  # but logged


def test_plotting_leaves_the_backend_alone():
    """A notebook's backend stays what it was after Solution.plot() (once, `matplotlib.use("Agg")` ran on import)."""
    code = (
        "import matplotlib; matplotlib.use('svg'); import ocp, casadi as ca;"
        "x, u = ca.SX.sym('x'), ca.SX.sym('u');"
        "p = ocp.Problem(state=x, control=u, dynamics=u, horizon=ocp.Horizon.fixed(1.0), initial_state=[0.0],"
        " running_costs={'e': u**2}, terminal_costs={'m': (x - 1)**2});"
        "import problems.learning.plots, problems.learning.sweep_report, problems.resnet.report;"
        "fig = ocp.solve(p, ocp.MultipleShooting(K=4)).plot();"
        "print(matplotlib.get_backend(), type(fig).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["svg", "Figure"]


def test_one_applicability_rule_with_each_methods_own_exceptions():
    from ocp.solvers.first_order import inapplicable_reason as phase_reason
    from ocp.solvers.gradient_flow import inapplicable_reason as flow_reason

    x, u = ca.SX.sym("x"), ca.SX.sym("u")
    base = dict(state=x, control=u, dynamics=u, horizon=ocp.Horizon.fixed(1.0), initial_state=[0.0])
    plain = ocp.Problem(**base, running_costs={"e": u**2})
    l1 = ocp.Problem(**base, l1_costs={"sparse": ocp.L1Cost(u)})
    free = ocp.Problem(**{**base, "horizon": ocp.Horizon.bounded(0.5, 2.0)}, running_costs={"e": u**2})
    bounded = ocp.Problem(**base, running_costs={"e": u**2}, state_bounds=ocp.Bounds([-1.0], [1.0]))
    assert phase_reason(plain) == flow_reason(plain) == ""
    assert "L1 costs" in phase_reason(l1) and flow_reason(l1) == ""  # the flow takes the subgradient
    assert phase_reason(free) == "" and "free" in flow_reason(free)  # the flow runs on a fixed horizon
    assert "state bounds" in phase_reason(bounded) and "state bounds" in flow_reason(bounded)


def test_both_solvers_keep_the_solver_contract():
    from ocp.solvers.contract import Solver

    problem, method = scalar_problem("decay"), ocp.MultipleShooting(K=6)
    for solver in (ocp.OCPSolver(problem, method), ocp.GradientFlow(problem, method, ocp.GradientFlowOptions(0.1, 50))):
        assert isinstance(solver, Solver)
        solution = solver.solve(T=1.5)
        assert solution.T == 1.5 and solution.success and solution.status.success
        assert solution.message == solution.status.message  # one table says both


def test_a_status_is_its_code_and_carries_what_a_user_reads(tmp_path):
    import json

    from ocp.solvers.status import Status

    assert Status("Solve_Succeeded") is Status.SOLVE_SUCCEEDED == "Solve_Succeeded"
    assert Status.MAXIMUM_ITERATIONS_EXCEEDED.message.startswith("Reached the maximum number of iterations")
    assert not Status.DIVERGED.success and Status.ITERATIONS_DONE.success
    odd = Status("Some_New_Ipopt_Code")  # a code the table does not know is still a Status
    assert odd == "Some_New_Ipopt_Code" and not odd.success and "Some_New_Ipopt_Code" in odd.message
    assert json.dumps({"status": Status.INTERRUPTED}) == '{"status": "interrupted"}'
    solution = ocp.solve(scalar_problem("drift"), ocp.MultipleShooting(K=4))
    loaded = ocp.Solution.load(solution.save(tmp_path / "s.npz"))
    assert loaded.status is Status.SOLVE_SUCCEEDED


def test_the_config_sections_are_the_librarys_option_classes():
    from ocp.run.solve import parse_config

    config = {"problem": "l2", "solver": {"max_iter": 50}, "gradient_flow": {"iterations": 5}}
    config |= {"initialization": {"strategy": "adam", "iterations": 20}}
    run, _, _ = parse_config(config)
    assert isinstance(run.solver.options(), ocp.SolverOptions) and run.solver.options().max_iter == 50
    assert isinstance(run.gradient_flow, ocp.GradientFlowOptions) and run.gradient_flow.iterations == 5
    from ocp.search.strategies import Initialization

    assert run.initialization == Initialization("adam", iterations=20)
    # the same declared rule refuses the same value through the API and through a config
    with pytest.raises(ocp.ProblemError, match="solver max_iter must be an integer >= 0, got -1"):
        ocp.SolverOptions(max_iter=-1)
    with pytest.raises(ocp.ConfigError, match="'solver.max_iter' must be >= 0, got -1"):
        parse_config({"problem": "l2", "solver": {"max_iter": -1}})
    with pytest.raises(ocp.ConfigError, match="unknown key 'gradient_flow.verbose'"):  # set by the program only
        parse_config({"problem": "l2", "gradient_flow": {"verbose": True}})


def test_the_search_limits_are_declared_once_for_the_api_and_the_config():
    import dataclasses

    from ocp.run.settings import MultistartSettings
    from ocp.run.solve import parse_config
    from ocp.search.settings import SearchSettings

    section = {f.name: f for f in dataclasses.fields(MultistartSettings)}
    # every limit but workers (0 in a config: one per core; None in the library)
    shared = [f for f in dataclasses.fields(SearchSettings) if f.name in section and f.metadata and f.name != "workers"]
    assert {f.name for f in shared} >= {"confidence", "coverage", "max_iter", "patience", "max_searches"}
    for limit in shared:
        assert section[limit.name].metadata == limit.metadata  # the same declared check, another default
    with pytest.raises(ocp.ProblemError, match="multistart confidence must be < 1.0, got 1.0"):
        SearchSettings(confidence=1.0)
    with pytest.raises(ocp.ConfigError, match="'multistart.confidence' must be < 1.0, got 1.0"):
        parse_config({"problem": "l2", "multistart": {"confidence": 1.0}})
