"""Li-GD and GD: projected gradient descent on the powers, coordinate search on the rest.

The package has three layers: :mod:`agents.li_gd.core` (the compiled descent, with
:mod:`agents.li_gd.variables`, the variables and their budget projections),
:mod:`agents.li_gd.problem` (one slot bound to the core) and
:mod:`agents.li_gd.search` (the discrete search and the agents).

Li-GD is the loop-iteration gradient descent of Yuan et al., "High Efficiency
Inference Accelerating Algorithm for NOMA-based Mobile Edge Computing" (arXiv
2312.15850): the split point is looped layer by layer, and the gradient descent for
each split starts from the optimum found for the previous split. For one user alone
the optimal uplink power does not depend on the upload size ``D(s)`` at all (``D``
scales the upload time and energy alike), so the previous optimum is usually optimal
already or a few steps away: the warm start removes most of the cost of the discrete
variable. GD is the same search with every descent started cold, from the fixed
default point (max power, equal budgets): the baseline Li-GD must beat in computation.

**Continuous variables** (for a fixed split and subchannels): uplink powers
``p in [0, P_user_max]^K``, downlink powers ``q >= 0, sum q <= P_bs_max`` and, when
``scenario.allocate_edge_share``, edge shares ``e >= 0, sum e <= 1``; users that do
not offload hold 0 in all three. :func:`descend` runs a scaled projected gradient
descent (Bertsekas, "Nonlinear Programming", 2nd ed., section 2.3) in the normalized
variables ``x = (p / P_user_max, q / P_bs_max, e)`` on the analytic gradient ``g`` of
:mod:`noma_split_env.gradient`:

* step ``x+ = P_D(x - alpha D g)`` with the diagonal scaling ``D = max(x, 1e-3)^2``,
  i.e. a gradient step in ``log x``: the cost is far better conditioned in log-power
  (SINR is proportional to power; optimal powers span four decades), and
  ``P_D`` is the projection in the metric ``D^-1`` (a box clip for ``p``; for ``q``
  and ``e``, ``x = max(v - theta d, 0)`` with the least ``theta >= 0`` meeting the
  budget: the sort-based simplex projection of Duchi et al., "Efficient projections
  onto the l1-ball", ICML 2008, with weights);
* trial step: the Barzilai-Borwein step ``s.D^-1 s / s.y`` of the last iteration,
  ``0.25 / |D^(1/2) g|_inf`` on the first;
* acceptance: the Armijo rule along the projection arc, non-monotone over the last 10
  costs (Grippo, Lampariello and Lucidi, SIAM J. Numer. Anal. 1986), as in the
  spectral projected gradient of Birgin, Martinez and Raydan (SIAM J. Optim. 2000):
  ``C(x+) <= max(last 10 C) + 1e-4 g.(x+ - x)``, backtracking by halves; the best
  point visited is returned, so a descent never ends above its start;
* stop when the scaled projected-gradient step ``|D^(-1/2) (P_D(x - D g) - x)|_inf``
  (the sensitivity to relative changes of the variables) is at most ``gtol``, when a
  step changes the cost by at most ``ftol max(1, |C|)``, when no step passes the line
  search, when 20 gradients in a row found no point better than the best by more than
  that (``core.STALL``: the non-monotone rule lets the iterate wander where the cost
  jumps), or after ``max_iter`` gradients.

The line search uses the full slot cost, deadline misses included (the miss term has
zero gradient but can block a step). Zero power is the degenerate point where an
upload or download takes ``latency_cap_s`` and the latency gradient vanishes, so a
start that gives a free offloading user zero ``p``, ``q`` or ``e`` gives it the
default instead (``P_user_max``, ``P_bs_max / m``, ``1 / m`` for ``m`` offloading
users; the others' budgets are scaled down to make room).

**Decomposition by subchannel** (``decompose=True``, the default). A user's cost
depends only on its own variables and on those of its co-channel users, and the
only couplings across subchannels are the BS-power and edge-share budgets. So the
descent of a candidate moves only the variables of the users on the subchannels the
candidate changes (user ``k``'s two groups for a split; the old and new group of
each link for a move, a swap, a refill or a relabelling); the others keep theirs and
the free users share what they leave of each budget. The start is evaluated once
for everyone, then each step re-evaluates only the free users
(:func:`noma_split_env.evaluate.evaluate_users_into`, bit-identical to a full
evaluation) and computes only their gradient terms: a step costs the size of two
subchannel groups instead of K. When the sweeps settle, one descent over every
variable (the rebalance) trades the budgets between groups before the relabellings
are tried; the final polish is a full descent too. A user update's subchannel moves
on one link are independent descents from the same point, so they run in parallel
(numba ``prange``, one thread per core; ``NUMBA_NUM_THREADS`` caps it); the best is
picked in candidate order, so the result does not depend on the threads. A descent
is a function of its inputs alone, and the search tries the same move from the same
point again (user j's swap with k is k's swap with j): :class:`SlotProblem` keeps
each move's result for the slot and descends only the moves it has not seen (29% of
them on ``default`` were repeats).

**Discrete variables.** Two starts on small cells (``starts=None``: ``"joint"`` and
``"local"`` up to ``LOCAL_START_MAX_USERS = 8`` users, ``"joint"`` alone above), each
searched by the sweeps below, the best result kept. ``"joint"``: the users' splits looped
together, depth ``t = 0 .. L_max - 1`` with ``s_k = round(t L_k / L_max)`` (the env's
decoding of a split), each descent warm-started from the previous depth's optimum,
uplink and downlink subchannel of each user = its best gain; the best of these
all-offloading points starts the sweeps. (Starting from everyone offloading matters:
under equal edge shares the edge energy of a task falls with the square of its share,
so two users may each lose alone by offloading and both win together; sweeps from
all-local miss such pairs.) ``"local"``: everyone local; the sweeps from there end
where users that enter one at a time lead, and on ``default`` that is often where two
users must change split together from the joint start (one entering, one leaving,
subchannels regrouped): with the joint start alone Li-GD ended more than 0.5% above a
multi-start search on 7 of 200 ``default`` slots (seed 2), with both on 1
(``benchmarks/bench_optimality.py``), at twice the time; on larger cells the second
start costs two to six times for 0.1% (``search.LOCAL_START_MAX_USERS``). ``"edge"``
(everyone at ``s = 0``) is a third start. A later start's sweeps stop as soon as they
reach a discrete state (splits and subchannels) where an earlier start's sweeps
settled: every user update and every relabelling was tried there already. On
``default`` the all-local start mostly ends where the joint start did, so this cuts
Li-GD's median time from 14.3 to 10.9 ms at identical costs (200 slots,
``bench_optimality``'s seed 1). (Not at any state an earlier start merely went
through: it may have moved on from there before every user was checked.) Then
coordinate sweeps over users; for user ``k``, the others fixed:

1. split loop: ``s_k = 0, 1, ..., L_k - 1``, each split's descent started from the
   previous split's optimum (Li-GD) or from the default point (GD), the first from
   the incumbent (user ``k`` entering at the default values if it was local); then
   ``s_k = L_k`` (user ``k`` local, the others re-descended from the incumbent) and,
   if ``k`` offloaded, the refill of what it leaves: on each link, each of the
   ``max_swaps`` offloading users that gain most by moving onto the subchannel ``k``
   left (``log(g_j[freed] / g_j[own])``) moves there, the best kept (a user going
   local is often worth it only if another user takes its subchannel); and, if ``k``
   is local (in cells of at most ``PAIR_ENTRY_MAX_USERS = 8`` users: in larger ones,
   which start from the joint start alone, it won 4 of 186 tries at 42-60% of the
   time, ``search.PAIR_ENTRY_MAX_USERS``), the pair entry: ``k`` and each of
   ``max_swaps`` local partners (largest
   uplink gain) start offloading together, their splits looped jointly by depth as
   in the joint start (each on its best subchannel, or its second best if that is
   the other's), then the best pair's two splits looped one at a time (under equal
   edge shares two users may each lose by offloading alone and win together: from
   all-local no single-user move gets there; the single loops are not skipped when
   the joint depths end 1% above the rival: on 2 of 200 ``tiny`` slots the optimum
   was then missed by 2-4%);
2. split swaps: user ``k`` exchanges splits (and its powers) with a user running the
   same model, at most ``max_swaps`` partners (those whose uplink gain differs most);
3. subchannel moves at the best split found (for a local ``k`` whose split loop
   found nothing better, at its best offloading split all the same: entering often
   pays only on another subchannel or once a partner moved): user ``k`` on every
   other uplink subchannel, then swapping uplink subchannels with at most
   ``max_swaps`` offloading users of other subchannels (those for which both gain
   most, ``log(g_k[n_j] / g_k[n_k]) + log(g_j[n_k] / g_j[n_j])``), then each of
   ``max_swaps`` co-channel users of ``k`` moving to each of its ``max_swaps`` best
   other subchannels by gain (a partner makes room: 0.3% lower mean cost on
   ``default``; every other subchannel where there are at most ``max_swaps + 1``);
   on two subchannels each
   of these is also tried with its two new groups trading subchannels (the gains
   differ by subchannel, so a regrouping may pay only relabelled); each descended
   from the best point; the best is kept; then the same for the downlink. In
   cells of at most ``search.SWAP_ENTRY_MAX_USERS`` users (the swap entry) a local
   ``k`` runs these moves a second time from its best split swap with an offloading
   partner (``k`` in the partner's place, the partner local): the partner's
   subchannels need not suit ``k`` (one ``default`` slot of 400 ended 2.14% above
   the multi-start cost without it);
4. the user's best choice replaces the incumbent if it lowers the slot cost by more
   than ``sweep_tol max(1, |C|)``.

Starts of the descents: the split loops (joint and per user) chain each descent from
the previous split's optimum (Li-GD) or the default point (GD; under the
decomposition, the free users at the default and the others as in the incumbent).
The split swaps and subchannel moves of Li-GD start from the incumbent's point unless
the default point already costs less there (one more cost evaluation, no gradient):
after a subchannel move the incumbent's powers may favour the wrong user of the new
subchannel, a trap the cold start of GD escapes. Without this guard Li-GD's mean
cost on ``default`` was 1.3e-4 above GD's (worse by 0.5-6% on 4 of 500 slots).

Giving up: a candidate that must beat a cost (the refills, split swaps, subchannel
moves and relabellings must beat the point they start from) stops, from
``give_up_after`` gradients on, once its best cost is above that cost by more than a
margin (``give_up_slack``, halving every ``core.GIVE_UP_HALVING`` gradients) or by
more than ``core.GIVE_UP_RATE`` times what its last two gradients gained (only where
it stands at its best point: a descent crossing a ridge is not stopped). The split
loops, the joint start and the polish always converge. A warm start's early costs
say sooner whether it can win than a cold one's: Li-GD gives up from 4 gradients on
(``search.WARM_GIVE_UP_AFTER``), GD from 5 (``search.COLD_GIVE_UP_AFTER``, where the
measurements behind both are).

Users are checked in cyclic order until none is left to check. After an accepted
update, a user whose update changed only its own split, and who still offloads,
counts as settled; after a subchannel move (its split loop was not run on the new
subchannel), a swap or a refill (a partner changed too), or once it went local (its
pair entry was not tried), it is checked again; so is everyone else in cells of at
most ``RECHECK_ALL_MAX_USERS = 8`` users. In larger cells only the users the update
touched are (those that changed, and the co-channel users of the updated user, of a
user with a new split and of the groups a user left or joined; everyone if the set
of offloading users changed), which cut the mean time
by 11-16% on ``dense`` and ``massive`` at the same cost. When no user is left to
check (every user is at its best given the others),
the rebalance (above) and then the subchannel relabellings are tried: on one link
every user of subchannel ``n`` moves to ``m`` and every user of ``m`` to ``n``, for
every pair with a user on it, each descended from the incumbent's point (or the
default point if cheaper there);
the best, if it improves, replaces the incumbent and the sweeps go on. No single move
or pairwise swap can do that, and on ``K = 3, N = 2`` slots the sweeps alone ended
up to 5.4% above the optimum for want of it (``tests/test_li_gd.py``). The search
stops when neither helps, or after ``max_sweeps x K`` user updates; the incumbent's continuous
variables are then polished by one more descent to ``gtol / 100`` (so that a solver
whose last descents stopped just inside ``gtol`` is not judged by that), and the
result is returned, or all-local if that is cheaper. The incumbent never gets worse,
so neither solver returns a cost above its starting point or above all-local.
Subchannels by moves and swaps rather than enumeration keep a user update at
``2 (N - 1 + max_swaps)`` descents instead of ``N^2`` (moves alone cannot exchange two
users' subchannels, which NOMA pairing often needs); a move is kept only if it lowers
the cost of everyone on the subchannel.

Statistics (``agent.stats``): ``iterations`` = gradients computed, ``evaluations`` =
cost evaluations, ``extra["iterations_per_split"][k][s]`` = gradients spent by user
``k``'s updates at split ``s`` (split swaps and subchannel moves count at the split
they were tried for; the joint loop is in ``extra["joint_iterations"][t]``),
``extra["relabel_iterations"]`` those of the relabellings, ``extra["descents"]``,
``extra["sweeps"]``, ``extra["start_cost"]`` (the best start),
``extra["start_costs"]``, ``extra["cost"]``, ``extra["cost_history"]`` (incumbent
after each user update, per start) and ``extra["trace"]``, the convergence curve:
``(gradients so far, best cost so far)`` from all-local (0 gradients) through every
start and user update to the polish.
"""

from __future__ import annotations

from agents.li_gd.core import DescentSettings, descend
from agents.li_gd.problem import Contest, Descent, Point, SlotProblem
from agents.li_gd.search import SEARCH_PARTS, Candidate, ColdGD, GradientDescent, LiGD

__all__ = [
    "SEARCH_PARTS",
    "Candidate",
    "ColdGD",
    "Contest",
    "Descent",
    "DescentSettings",
    "GradientDescent",
    "LiGD",
    "Point",
    "SlotProblem",
    "descend",
]
