"""Direct collocation's intervals in the NLP (`DirectCollocation`): the ODE at the collocation points,
continuity at the nodes and the running costs by the collocation quadrature. `transcription.py` calls
`collocation_intervals` in place of the shooting intervals; everything else of the NLP is shared.
"""

from __future__ import annotations

import casadi as ca

from ocp.errors import ProblemError
from ocp.nlp.functions import NodeFunctions, aggregate_weight, member_function, merge, quadrature_function, split
from ocp.problem.method import DirectCollocation
from ocp.problem.problem import Problem


def collocation_intervals(problem: Problem, method: DirectCollocation, v, at):
    """Direct collocation's constraints and running costs (`DirectCollocation`): on interval k with node
    state X_k and the values Z_{k,i} at the points c_i, the ODE at each point,

        sum_j C[j, i] X_{k,j} = h_k f(Z_{k,i}, U_k, t_k + c_i h_k)   (X_{k,0} = X_k, X_{k,i} = Z_{k,i}),

    continuity X_{k+1} = sum_j D[j] X_{k,j} (the gaps: first in g, their multipliers the costates as in
    multiple shooting), and the running costs by the quadrature h_k sum_i B[i] L(Z_{k,i}). Returns (gaps,
    the collocation equations, the running costs, their names, each interval's inputs as `_shooting` gives
    them: the stage values' guess is computed from them). ``v`` and ``at`` are the transcription's
    variables and inputs (`transcription._Variables`, `_Inputs`)."""
    if problem.interval_sizes is not None:
        raise ProblemError("direct collocation does not take interval sizes yet; use MultipleShooting")
    K, s = method.K, method.degree
    C, D, B = method.polynomial()
    c = method.points()
    run_names = list(problem.running_costs)
    run_exprs = [problem.running_costs[n] for n in run_names]
    run_split = split(problem, run_exprs)
    rhs = member_function(problem, "collocation_rhs", [problem.dynamics], method.parallelization)
    cost = NodeFunctions.build(problem, "running", [run_exprs[i] for i in run_split.member], method.parallelization)
    shared_q = quadrature_function(problem, method, [run_exprs[i] for i in run_split.shared])
    gaps, equations, step_inputs = [], [], []
    member_running = ca.MX.zeros(len(run_split.member), 1)
    shared_running = ca.MX.zeros(len(run_split.shared), 1)
    times, X, Z = at.times, v.X, v.Z
    for k in range(K):
        h_k, u_k, params_k, data_k = times[k + 1] - times[k], v.U[k], at.interval_params[k], at.data_on(k)
        step_inputs.append((X[k], u_k, params_k, times[k], h_k, data_k))
        points = [X[k], *Z[k]]
        for i in range(s):
            t_ki = times[k] + c[i] * h_k
            slope = sum(C[j, i] * points[j] for j in range(s + 1))
            f_ki = rhs(Z[k][i], u_k, params_k, t_ki, at.T, data_k)
            equations.append(ca.vec(slope - h_k * f_ki))
            if run_split.member:
                member_running += h_k * B[i] * ca.sum2(cost.member(Z[k][i], u_k, params_k, t_ki, at.T, data_k))
        gaps.append(ca.vec(X[k + 1] - sum(D[j] * points[j] for j in range(s + 1) if D[j] != 0.0)))
        if run_split.shared:
            shared_running += shared_q(u_k, params_k, times[k], h_k, at.T)
    running = merge(run_split, aggregate_weight(problem) * member_running, shared_running, len(run_names))
    return gaps, ca.vertcat(*equations), running, run_names, step_inputs
