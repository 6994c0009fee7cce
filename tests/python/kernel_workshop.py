"""Runs a notebook top to bottom in Weir's `arc` kernel with nbclient (as papermill and
`jupyter nbconvert --execute` do) and reports every code cell's outputs as JSON.

Usage: kernel_workshop.py NOTEBOOK OUT_JSON   (JUPYTER_DATA_DIR must hold the kernelspec)
"""
import json
import sys

import nbformat
from nbclient import NotebookClient


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="arc", allow_errors=True, timeout=600, startup_timeout=60)
    client.execute()
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts, errors = [], []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                errors.append(o.get("ename", "") + ": " + o.get("evalue", ""))
            elif o.get("output_type") == "stream":
                texts.append(o.get("text", ""))
            else:
                texts.append(o.get("data", {}).get("text/plain", ""))
                if "text/html" in o.get("data", {}):
                    texts.append("[html]")
        cells.append({"source": cell.source, "texts": texts, "errors": errors})
    with open(out_path, "w") as f:
        json.dump(cells, f, indent=1)


if __name__ == "__main__":
    main()
