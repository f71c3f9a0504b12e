"""Runs the AllenSDK's GlifNeuron on a list of jobs; executed by the SDK venv's python, not collected by pytest.

    <sdk python> glif_sdk_runner.py <jobs.json> <out dir>

jobs.json is a list of {"id", "config" (a plain neuron_config dict, as the file gives it), "stimulus" (an .npy
path, amperes), "dt", "repeats"}. Each job runs ``GlifNeuron.from_dict(config with dt)`` then ``run(stimulus)``
``repeats`` times; the arrays of the last run go to <out dir>/<id>.npz. <out dir>/summary.json maps each id to
{"seconds": [one per run], "steps": n} or {"error": "<type>: <message>"} when the SDK fails.
"""

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
from allensdk.model.glif.glif_neuron import GlifNeuron


def main(jobs_path: str, out_dir: str) -> None:
    logging.disable(logging.INFO)  # GlifNeuron.run logs every 10,000 steps
    out = Path(out_dir)
    summary = {}
    for job in json.loads(Path(jobs_path).read_text()):
        stimulus = np.load(job["stimulus"])
        config = dict(job["config"], dt=job["dt"])
        seconds = []
        try:
            for _ in range(job.get("repeats", 1)):
                neuron = GlifNeuron.from_dict(config)
                start = time.perf_counter()
                result = neuron.run(stimulus)
                seconds.append(time.perf_counter() - start)
        except Exception as error:  # the point is to report what the SDK cannot run
            summary[job["id"]] = {"error": f"{type(error).__name__}: {error}"}
            continue
        np.savez(out / f"{job['id']}.npz", **result)
        summary[job["id"]] = {"seconds": seconds, "steps": len(stimulus)}
    (out / "summary.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
