"""Direct collocation's intervals in the NLP (`DirectCollocation`): the ODE at the collocation points,
continuity at the nodes and the running costs by the collocation quadrature. `transcription.py` calls
`collocation_intervals` in place of the shooting intervals; everything else of the NLP is shared.
"""

from __future__ import annotations

import casadi as ca

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
    them: the stage values' guess is computed from them). With `Problem.interval_sizes` the values at
    the points hold interval k's entries, the equations are written for those, and M_k carries the end
    of the polynomial to node k + 1 (X_{k+1} = M_k sum_j D[j] X_{k,j}). ``v`` and ``at`` are the
    transcription's variables and inputs (`transcription._Variables`, `_Inputs`)."""
    K, s, M = method.K, method.degree, method.steps
    C, D, B = method.polynomial()
    c = method.element_points()
    run_names = list(problem.running_costs)
    run_exprs = [problem.running_costs[n] for n in run_names]
    run_split = split(problem, run_exprs)
    rhs = member_function(problem, "collocation_rhs", [problem.dynamics], method.parallelization)
    cost = NodeFunctions.build(problem, "running", [run_exprs[i] for i in run_split.member], method.parallelization)
    shared_q = quadrature_function(problem, method, [run_exprs[i] for i in run_split.shared])
    gaps, equations, step_inputs = [], [], []
    member_running = ca.MX.zeros(len(run_split.member), 1)
    shared_running = ca.MX.zeros(len(run_split.shared), 1)
    times, pad = at.times, v.pad
    for k in range(K):
        h_k, u_k = times[k + 1] - times[k], pad.control(k, v.U[k])
        params_k, data_k = at.interval_params[k], at.data_on(k)
        # padded to the problem's symbols: the entries that do not exist on interval k are 0 (`Padding`)
        end = pad.state(k, v.X[k])
        step_inputs.append((end, u_k, params_k, times[k], h_k, data_k))
        h_e = h_k / M
        for m in range(M):  # element m starts where element m - 1's polynomial ends
            points = [end, *[pad.state(k, z) for z in v.Z[k][m * s : (m + 1) * s]]]
            for i in range(s):
                t_ki = times[k] + (m + c[i]) * h_e
                slope = sum(C[j, i] * points[j] for j in range(s + 1))
                f_ki = rhs(points[i + 1], u_k, params_k, t_ki, at.T, data_k)
                equations.append(ca.vec(pad.interval_entries(k, slope - h_e * f_ki)))  # the existing entries
                if run_split.member:
                    running_ki = cost.member(points[i + 1], u_k, params_k, t_ki, at.T, data_k)
                    member_running += h_e * B[i] * ca.sum2(running_ki)
            end = sum(D[j] * points[j] for j in range(s + 1) if D[j] != 0.0)
        gaps.append(ca.vec(v.X[k + 1] - pad.next_state(k, end)))  # carried by M_k with interval sizes
        if run_split.shared:
            shared_running += shared_q(u_k, params_k, times[k], h_k, at.T)
    running = merge(run_split, aggregate_weight(problem) * member_running, shared_running, len(run_names))
    return gaps, ca.vertcat(*equations), running, run_names, step_inputs
