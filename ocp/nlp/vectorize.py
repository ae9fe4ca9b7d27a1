"""Apply a one-member SX function to a whole batch as vector MX operations.

``Function.map`` evaluates the member function N times, one scalar at a time,
and its derivatives the same way. Replaying the member function's SX
instructions on MX rows of length N instead turns each scalar instruction
into ONE vector operation over the batch: the graph holds as many nodes as the
member function has instructions, whatever N, and CasADi's MX derivatives of
it are vector operations too. This is how a hand-vectorised model (the whole
batch stacked as one state, as rockit and the papers' own scripts write it)
evaluates, obtained here from the per-member description. On the reference
problem it makes the NLP's Hessian 3-4 times cheaper than the mapped form
(`benchmarks/README.md`).
"""

from __future__ import annotations

from collections.abc import Sequence

import casadi as ca

_NOT_REPLAYABLE = (ca.OP_CALL, ca.OP_PARAMETER)


def replayable(f: ca.Function) -> bool:
    """Whether `batched` can replay ``f``: an SX function without calls or free symbols."""
    if not f.is_a("SXFunction"):
        return False
    return all(f.instruction_id(k) not in _NOT_REPLAYABLE for k in range(f.n_instructions()))


def batched(f: ca.Function, N: int, member_inputs: Sequence[str]) -> ca.Function:
    """``f`` applied to ``N`` members at once, like ``f.map(N)``.

    Inputs named in ``member_inputs`` (column vectors in ``f``) become
    (n, N) matrices, one column per member; the other inputs are
    shared by all members and keep their shape. Every output becomes
    (n, N). Requires `replayable(f)`.
    """
    if not replayable(f):
        raise ValueError(f"{f.name()} is not a plain SX function; use Function.map instead")
    member = set(member_inputs)
    unknown = member - set(f.name_in())
    if unknown:
        raise ValueError(f"unknown member inputs {sorted(unknown)} of {f.name()}")
    symbols, rows = [], []
    for i, name in enumerate(f.name_in()):
        n = f.numel_in(i)
        if name in member:
            if f.size2_in(i) != 1 and n:
                raise ValueError(f"member input {name!r} of {f.name()} must be a column vector")
            s = ca.MX.sym(name, n, N)
            rows.append([s[j, :] for j in range(n)])  # one (1, N) row per entry
        else:
            s = ca.MX.sym(name, f.sparsity_in(i))
            rows.append([s.nz[j] for j in range(n)])  # shared scalars, broadcast by MX arithmetic
        symbols.append(s)

    work: dict[int, ca.MX] = {}
    outputs = [[ca.MX(0)] * f.nnz_out(i) for i in range(f.n_out())]
    for k in range(f.n_instructions()):
        op, out, arg = f.instruction_id(k), f.instruction_output(k), f.instruction_input(k)
        if op == ca.OP_CONST:
            work[out[0]] = ca.MX(f.instruction_constant(k))
        elif op == ca.OP_INPUT:
            work[out[0]] = rows[arg[0]][arg[1]]
        elif op == ca.OP_OUTPUT:
            outputs[out[0]][out[1]] = work[arg[0]]
        elif len(arg) == 2:
            work[out[0]] = ca.MX.binary(op, work[arg[0]], work[arg[1]])
        else:
            work[out[0]] = ca.MX.unary(op, work[arg[0]])

    def as_rows(value: ca.MX) -> ca.MX:
        return value if value.size2() == N else ca.repmat(value, 1, N)

    results = []
    for i in range(f.n_out()):
        if not f.sparsity_out(i).is_dense():
            raise ValueError(f"output {f.name_out(i)!r} of {f.name()} must be dense")
        entries = [as_rows(v) for v in outputs[i]]
        results.append(ca.vertcat(*entries) if entries else ca.MX(0, N))
    return ca.Function(f"{f.name()}_batch", symbols, results, f.name_in(), f.name_out())
