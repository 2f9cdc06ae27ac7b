"""Every paragraph a report explains itself with, in one place. Sections fill in the numbers
({fields}); what a term means in general (late, lost, PSS, L/N, Welch, Holm) is in
docs/reading-a-report.md, which every report links to instead of repeating it."""

HEADER = ("Each server fetches one document from MongoDB per request. Profile **{profile}**: "
          "{duration} s per repeat, {repeats}; load generator {tool}, timeout {timeout} s; "
          "runtime `{runtime}`{roles}; {machine}. [How to read this report]({guide}).")

ANSWER_INTRO = ("Per cell, the **leader** (the deployable stack with the highest median "
                "successful req/s among healthy, server-bound cells) and its **top group**: every "
                "stack the repeats cannot rule out as the cell's best, with its successful req/s "
                "as a ratio to the leader's and that ratio's 95% interval, within the same "
                "interleaved rounds where the run recorded them ({procedure}; a stack outside "
                "its cell's top group is not that cell's best, with a family-wise error of at "
                "most {alpha:.0%} over every cell of the answer{looks}; the interval shown is the "
                "plain one, the decision the corrected one). A cell is healthy when the attempts "
                "of all its repeats, pooled, failed at most {limit} and no repeat failed more; "
                "{mark} marks a faster deployable cell that did not. p99 is the measured "
                "latency's, median over repeats. The baseline is Python without a framework (a "
                "bare ASGI callable), never recommended.")

ANSWER_CODE = ("**Sync or async code.** How your views are written decides which stacks you "
               "can use: plain `def` views run on WSGI workers, gevent or a thread pool; "
               "`async def` views need an event loop. The best competitor of each kind per cell "
               "(successful req/s, p99), and the async one's req/s over the sync one's within "
               "rounds with its 95% interval (Holm over the cells of this table): what moving "
               "from one to the other buys.")

ANSWER_CAPACITY = ("**Capacity under the SLO** ({key} ≤ {limit:g} ms, open loop at shares of "
                   "each cell's closed-loop req/s in this run): successful req/s at the highest "
                   "rate that kept it, for the top group's stacks; – where a stack kept the SLO "
                   "at none of its rates, *not measured* where it got no open-loop cells.")

REFERENCES = ("**Beyond Python**, measured like every row and never recommended (the question "
              "is which Python server): other languages' stacks and the compiled ceiling, a "
              "Rust server that shows what this machine serves for the same endpoint. The share "
              "is the best deployable Python stack's req/s over the ceiling's; where the "
              "ceiling is client-bound it is a share of what this machine's database and load "
              "generator allow, not of what a server could do. Their drivers differ in age "
              "(the recorded versions are in the method section).")

ANSWER_NOTHING = "Nothing healthy was measured, so this run gives no answer."

MODELS_INTRO = ("**Best of each worker model** (competing cells; successful req/s; the 2014 "
                "question was threads against events):")

LATENCY_ORDER = ("**With the database further away** (each find made slower on purpose; "
                 "below): the leader per cell, successful req/s, and how many stacks are tied "
                 "with it:")

COST = ("CPU time the server (all its processes, or its container) and mongod spent per "
        "successful request, in µs: CPU cores × seconds ÷ successful requests, the median over "
        "repeats (lower is cheaper). Failed requests cost CPU too and are not counted as "
        "requests, so a cell with many failures looks expensive. It hardly depends on what the "
        "other roles left of the shared CPUs, so it compares servers more steadily than req/s.")

DB_LATENCY = ("Cells marked *database +N ms* ran against a MongoDB made slow on purpose: "
              "`{name}` (a fail point, test commands {test_commands}) made every {commands} wait "
              "N ms before it ran (the wait itself uses no CPU). What it models: {models}. What "
              "it does not: {not_modelled}. The suite timed finds itself, alternately with and "
              "without the fail point, before the run and each time it set the fail point for a "
              "cell, and a burst of concurrent finds, which must not queue behind each other. "
              "The fail point is not free (mongod's thread sleeps and wakes for every find, and "
              "failCommand, used before 2026-12-01, also logged three lines per find); the last "
              "column is mongod's CPU per sequential find without and with it, which here comes "
              "out of the CPUs the servers share.")

STUDY = ("The study this suite revisits: *{title}*, {where}. Its setup: {setup}; {method}. Its "
         "figures count {counts}. Hardware, network and versions differ, so only ratios are "
         "compared: each stack's requests per second ÷ {reference}'s in the same cell, then "
         "(2014) and now (this run's median successful req/s, ÷ `{variant}`'s). The study's "
         "MongoDB sat on another machine of its LAN; here it shares the loopback and the CPUs.")

STUDY_BEYOND = ("**Python against the study's other languages{where}**: each one's requests "
                "per second ÷ the best of the study's Python rows in the same cell (> 1: ahead of "
                "Python), as the study measured it and in this run. Today's rows of other "
                "languages are reference rows: measured like every variant, never recommended, "
                "their drivers older than PyMongo (versions in the method section).")

SWEEPS = ("A sweep runs one catalog variant with other values of its settings, each combination "
          "a row measured in the same interleaved rounds, the catalog's values always among "
          "them: the answer to \"your config was unfair\". Per cell the best healthy "
          "combination is compared with the catalog's (Welch's test, Holm's correction across "
          "the sweep's cells). The best is picked after the fact among several, so a lead that "
          "only just clears the noise is weaker than its p says.")

DEPLOYMENTS = ("Rows named `×N nginx:STRATEGY` ran as N instances of the variant, each on its "
               "own port with the variant's settings, behind nginx on the port the load "
               "generator and the verification used. nginx's configuration was written from "
               "data (folded below): worker_processes = the server's CPUs, worker_connections = "
               "2 × the largest connection level + 1024, HTTP/1.1 keep-alive to the instances, "
               "no retry on another instance, access log off. The server's CPU and memory are "
               "the instances' together; nginx's are the balancer's.")
DEPLOYMENTS_KEEP = ("No instance leaves the rotation after a failure (max_fails=0), and nginx "
                    "closes a connection to an instance after 1 s idle, before the instance "
                    "would.")
DEPLOYMENTS_EJECT = ("**In {rows} nginx kept its default passive health check** (max_fails=1, "
                     "fail_timeout=10s): one failed request took an instance out of rotation "
                     "for 10 s, and while every instance was out nginx answered 502 at once. "
                     "Those rows' status failures are partly the balancer's doing; later runs "
                     "set max_fails=0.")
DEPLOYMENT_CPU = ("**Where the CPU went, median over repeats** (balancer µs per successful "
                  "request; each instance's share of the instances' CPU: even shares mean the "
                  "balancer spread the load)")

OPEN_LOOP_EVERY = "After its closed-loop cells, each variant"
OPEN_LOOP_TOP = ("In a phase after the closed-loop rounds, the leader of each cell and the "
                 "stacks tied with it (its top group, at most five)")
OPEN_LOOP = ("{who} got requests at fixed rates from {tool} "
             "(`-q RATE --latency-correction`): each latency runs from when its request was due, "
             "so waiting for a free connection counts. A rate given as a share is of the median "
             "successful req/s the same cell measured closed-loop in this run. Requests due but "
             "never sent are *unsent*; those due more than the timeout before the end count as "
             "lost. SLO: {key} ≤ {limit:g} ms with at most {failures} failed (`--slo`).")

CROSSCHECK = ("Each repeat was followed, on the same server, by a {second} run of the same cell "
              "(same connections, duration and timeout); medians over repeats. {second}: "
              "{version}; latency {latency}; failure classes {classes}; body check: {body}. "
              "Figures above this section are {tool}'s alone. The last column is how each "
              "generator's connections sat on the server's worker processes half-way through "
              "each repeat (the kernel decides which worker accepts a connection, so it changes "
              "from one execution to the next): where the generators differ by more than "
              "{agree}, compare the spreads first.")

CHECKS_NONE = "No warnings: {stability}, {client}, and no cell looks bottlenecked elsewhere."

DETAILS_LEGEND = ("Responses / latency samples: per repeat, every response received and the "
                  "measured latencies (they differ by the late responses; ≠ marks any other "
                  "difference). CPU in cores, medians over repeats; memory is the largest the "
                  "server's process tree (or container) occupied, as marked (PSS, RSS or the "
                  "container's anonymous memory). L/N: Little's law. Finds / response: MongoDB's "
                  "own finds (inserts, for writes) per successful response, the lowest repeat. "
                  "Connections per worker: half-way through each repeat, most first (+ not yet "
                  "accepted). The last column is wrk's own coordinated-omission corrected "
                  "figure, never used above.")

REPRODUCE = ("- **Reproduce**: on a machine like this one (see below), `git checkout {commit}`, "
             "`make setup`, then `{command}`. {regenerate}")
REPRODUCE_DIRTY = ("- **Reproduce**: not exactly: this run was made from commit {commit} **with "
                   "uncommitted changes** (diff sha256 {digest}), which the repository does not "
                   "hold. The command was `{command}`. {regenerate}")
REGENERATE = ("Regenerate this report (charts and HTML page included) from the results file "
              "alone with `battle report results/{run_id}.json`.")

GIL = ("Rows marked *-ft* ran on free-threaded CPython {version} (PEP 703, built with "
       "`--disable-gil`: {build}) with the GIL off; each, where its server allows it, has a GIL "
       "twin, *-ft+gil*, the same build, command and settings with `PYTHON_GIL=1`, so within a "
       "pair only the lock differs. "
       "Verification read the GIL's state from every server after its first requests "
       "(`sys._is_gil_enabled()`) and would have failed a row whose GIL came back on. Their "
       "environment lacks orjson, uvloop, httptools and gunicorn_h1c (no free-threaded wheels): "
       "both sides of a pair share that, rows of the default interpreter do not.")
GIL_LEGEND = ("free ÷ twin: successful req/s, medians; ✓ beyond noise, ~ within (Welch, Holm "
              "over the table); against an unhealthy side, shown and not tested. ÷ best "
              "process-based, ÷ best event loop: against the best healthy row of the default "
              "build in the same cell, a process-based one (sync workers, or threads in several "
              "processes) and an event-loop one (asyncio or gevent), named in the next table. "
              "Server CPU: cores used, all its processes (median over repeats; for a one-process "
              "row more than 1 means its threads ran at once), and CPU µs per successful "
              "request.")
GIL_CHANGES = ("On this machine free-threading changes the study's answer where it counts: "
               "threads without the GIL beat the best event loop in more cells than they lose.")
GIL_KEEPS = ("On this machine free-threading does not change the study's answer: the best "
             "event loop is not beaten by threads without the GIL in more cells than it beats "
             "them.")
GIL_UNTESTED = ("Whether free-threading changes the study's answer is not tested against noise "
                "here (one repeat per cell).")
GIL_NO_TWIN = (" {rows} ran without a twin: its server refuses to start this build with the GIL "
               "on (granian), so the default build's row of the same stack is its nearest "
               "control.")
