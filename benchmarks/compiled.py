"""Compiled C code for the multiple-shooting NLP against the default MX graph (the codegen lever).

    OMP_NUM_THREADS=1 python benchmarks/compiled.py [--sizes 100 400] [--flags "-O1" "-O2 -march=native"]

Reference problem (`reference_problem.py`, K = 20), plain IPOPT from the raw
start (no first-order phase, so both variants take the same iterations to the
same KKT point). The functions IPOPT calls (objective, constraints, their
gradient and Jacobian, and the toolkit's coloured Hessian of the Lagrangian)
are written out with CasADi's code generator, compiled with the system's gcc
and loaded back as the NLP of a second IPOPT instance. For each flag set:
generation and compile time, and per solve the wall time and the time IPOPT
spent in function evaluations, default and compiled solved alternately twice.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import casadi as ca

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers.toolkit import EVALUATION_TIMERS  # noqa: E402
from reference_problem import instance  # noqa: E402

import ocp  # noqa: E402
from ocp.solvers.allocator import retained_heap  # noqa: E402
from problems.learning.datasets import Dataset  # noqa: E402
from problems.learning.l2 import l2_problem  # noqa: E402
from problems.learning.networks import NetworkDynamics  # noqa: E402

ORACLE = ("nlp_f", "nlp_g", "nlp_grad", "nlp_grad_f", "nlp_jac_g")  # what IPOPT asks the oracle for


def compiled_solver(solver: ocp.OCPSolver, directory: Path, flags: list[str]) -> tuple[ca.Function, float, float]:
    """An IPOPT instance on compiled code of ``solver``'s NLP; (solver, generation s, compile s)."""
    ipopt = solver._solver(warm_start=False)
    start = time.perf_counter()
    source = directory / "nlp.c"
    generator = ca.CodeGenerator(source.name)
    generator.add(solver._nlp_function)
    for name in ORACLE:
        generator.add(ipopt.get_function(name))
    hessian = solver._hessian
    generator.add(
        ca.Function("nlp_hess_l", hessian.mx_in(), hessian.call(hessian.mx_in()), hessian.name_in(), hessian.name_out())
    )
    generator.generate(f"{directory}/")
    generation = time.perf_counter() - start
    start = time.perf_counter()
    library = directory / "nlp.so"
    subprocess.run(["gcc", *flags, "-fPIC", "-shared", str(source), "-o", str(library)], check=True)
    compile_time = time.perf_counter() - start
    lib = str(library)
    options = solver.options.casadi_options() | {
        name: ca.external(f"nlp_{name.replace('hess_lag', 'hess_l')}", lib) for name in ("grad_f", "jac_g", "hess_lag")
    }
    return ca.nlpsol("compiled", "ipopt", lib, options), generation, compile_time


def measure(N: int, flag_sets: list[str]) -> None:
    inst = instance(N, 20)
    problem, _ = l2_problem(Dataset(inst.X, inst.y), NetworkDynamics("inside", "tanh"), T=inst.T, lam=inst.lam)
    options = ocp.SolverOptions(first_order_iterations=0, check_optimality=False)
    solver = ocp.OCPSolver(problem, ocp.MultipleShooting(K=20), options)
    p = solver._nlp_parameters({}, None, None)
    lbx, ubx = solver._bounds(None)
    x0 = solver._start(ocp.InitialGuess(controls=inst.U0), {}, None, None, None)
    args = {"x0": x0, "p": p, "lbx": lbx, "ubx": ubx, "lbg": solver.nlp.lbg, "ubg": solver.nlp.ubg}

    def run(fn: ca.Function) -> tuple[float, float, int, float]:
        start = time.perf_counter()
        with retained_heap():
            result = fn(**args)
        stats = fn.stats()
        evaluations = sum(stats.get(k, 0.0) for k in EVALUATION_TIMERS)
        return time.perf_counter() - start, evaluations, stats["iter_count"], float(result["f"])

    for flags in flag_sets:
        with tempfile.TemporaryDirectory() as tmp:
            compiled, generation, compile_time = compiled_solver(solver, Path(tmp), flags.split())
            size = os.path.getsize(Path(tmp) / "nlp.c") / 1e6
            print(
                f"N={N} gcc {flags}: C source {size:.1f} MB, generated in {generation:.2f} s, "
                f"compiled in {compile_time:.1f} s",
                flush=True,
            )
            for label, fn in (("default", solver._solver(False)), ("compiled", compiled)) * 2:
                wall, evaluations, its, cost = run(fn)
                print(
                    f"  {label:8s} solve {wall:6.2f} s, evaluations {evaluations:5.2f} s, {its} its, cost {cost:.10f}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--flags", nargs="+", default=["-O1", "-O2 -march=native"])
    args = parser.parse_args()
    for N in args.sizes:
        measure(N, args.flags)


if __name__ == "__main__":
    main()
