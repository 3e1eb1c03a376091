"""Regenerates the CSV files in data/ and data/MANIFEST.json from scikit-learn's bundled copies.

Run from the repository root with the course environment: `.venv/bin/python data/regenerate.py`.
scikit-learn ships these data sets inside its wheel, so this needs no network. The output is
byte-for-byte reproducible for a given scikit-learn version (see MANIFEST.json).

It also derives data/hospitals/: breast_cancer.csv split into one file per hospital (a seeded
split with unequal sizes and unequal shares of malignant tumours), the example folder of
`notebooks/07_capstone_bring_your_own_data.ipynb`. Each hospital file is the header of
breast_cancer.csv and a subset of its lines, byte for byte; together they hold every line once.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn import datasets

HERE = Path(__file__).resolve().parent

SOURCES = {
    "digits": {
        "loader": lambda: datasets.load_digits(),
        "label": "label",
        "task": "classification",
        "fmt": "%d",
        "description": "8x8 images of handwritten digits 0-9, pixel intensities 0-16 "
        "(columns pixel_0..pixel_63, row-major), 1,797 images.",
        "source": "UCI Machine Learning Repository, 'Optical Recognition of Handwritten Digits' "
        "(Alpaydin and Kaynak, 1998), doi:10.24432/C50P49; the test-set copy bundled with "
        "scikit-learn as sklearn.datasets.load_digits.",
        "licence": "CC BY 4.0 (UCI Machine Learning Repository)",
    },
    "breast_cancer": {
        "loader": lambda: datasets.load_breast_cancer(),
        "label": "malignant",
        "task": "classification",
        "fmt": "%.6g",
        "description": "Breast Cancer Wisconsin (Diagnostic): 30 features of cell nuclei "
        "computed from a fine needle aspirate image; label 1 = malignant, 0 = benign.",
        "source": "UCI Machine Learning Repository, 'Breast Cancer Wisconsin (Diagnostic)' "
        "(Wolberg, Mangasarian, Street and Street, 1993), doi:10.24432/C5DW2B; the copy "
        "bundled with scikit-learn as sklearn.datasets.load_breast_cancer.",
        "licence": "CC BY 4.0 (UCI Machine Learning Repository)",
    },
    "diabetes": {
        "loader": lambda: datasets.load_diabetes(scaled=False),
        "label": "progression",
        "task": "regression",
        "fmt": "%.6g",
        "description": "442 diabetes patients: age, sex, body mass index, average blood "
        "pressure and six blood serum measurements (unscaled); target: a quantitative measure "
        "of disease progression one year after baseline.",
        "source": "Efron, Hastie, Johnstone and Tibshirani, 'Least Angle Regression', Annals of "
        "Statistics 32(2), 2004; the copy bundled with scikit-learn as "
        "sklearn.datasets.load_diabetes(scaled=False).",
        "licence": "Redistributed as part of scikit-learn under its BSD-3-Clause licence; the "
        "original publication states no separate licence.",
    },
}


# data/hospitals/: name -> (rows, malignant rows). Unequal sizes (quantity skew) and unequal
# malignant shares (label skew): two screening clinics with few malignant cases, two referral
# centres with many, one small hospital in between (overall: 212 of 569 malignant, 37%).
HOSPITALS = {
    "hospital_a": (200, 20),
    "hospital_b": (150, 110),
    "hospital_c": (100, 10),
    "hospital_d": (70, 50),
    "hospital_e": (49, 22),
}
HOSPITAL_SEED = 0


def write_hospitals(source: Path) -> dict:
    """Splits the lines of `source` (breast_cancer.csv) into data/hospitals/<name>.csv.

    Within each class (the last column, 1 = malignant) the lines are shuffled with
    `np.random.default_rng(HOSPITAL_SEED)` and handed out in the order of HOSPITALS; each file
    keeps the lines in their order in `source`. Returns the manifest entry.
    """
    header, *lines = source.read_bytes().decode().splitlines(keepends=True)
    malignant = np.array([int(line.rstrip().rsplit(",", 1)[1]) for line in lines])
    if sum(rows for rows, _ in HOSPITALS.values()) != len(lines) or sum(
            m for _, m in HOSPITALS.values()) != malignant.sum():
        raise ValueError("HOSPITALS must hand out every line of breast_cancer.csv exactly once")
    rng = np.random.default_rng(HOSPITAL_SEED)
    pools = {label: rng.permutation(np.flatnonzero(malignant == label)) for label in (1, 0)}
    taken = {1: 0, 0: 0}
    folder = HERE / "hospitals"
    folder.mkdir(exist_ok=True)
    files = {}
    for name, (rows, num_malignant) in HOSPITALS.items():
        picks = []
        for label, count in ((1, num_malignant), (0, rows - num_malignant)):
            picks.append(pools[label][taken[label]:taken[label] + count])
            taken[label] += count
        path = folder / f"{name}.csv"
        path.write_bytes((header + "".join(lines[i] for i in np.sort(np.concatenate(picks))))
                         .encode())
        blob = path.read_bytes()
        files[path.name] = {"rows": rows, "malignant": num_malignant, "bytes": len(blob),
                            "sha256": hashlib.sha256(blob).hexdigest()}
        print(f"hospitals/{path.name}: {rows} rows ({num_malignant} malignant), {len(blob)} bytes")
    return {
        "folder": folder.name,
        "derived_from": source.name,
        "label_column": SOURCES["breast_cancer"]["label"],
        "task": "classification",
        "seed": HOSPITAL_SEED,
        "files": files,
        "description": "breast_cancer.csv split into one CSV file per hospital, with unequal "
        "sizes and unequal shares of malignant tumours (quantity and label skew); the example "
        "data of notebook 07 (bring your own data). Not real hospitals: a seeded split of one "
        "data set.",
        "source": "Derived from " + SOURCES["breast_cancer"]["source"],
        "licence": SOURCES["breast_cancer"]["licence"],
    }


def main() -> None:
    manifest = {"generated_with": f"scikit-learn {sklearn.__version__}", "datasets": {}}
    for name, spec in SOURCES.items():
        bunch = spec["loader"]()
        x = np.asarray(bunch.data)
        y = np.asarray(bunch.target)
        if name == "breast_cancer":
            y = 1 - y  # scikit-learn codes malignant as 0; store 1 = malignant
            columns = [c.replace(" ", "_") for c in bunch.feature_names]
        elif name == "digits":
            columns = [f"pixel_{i}" for i in range(x.shape[1])]
        else:
            columns = list(bunch.feature_names)
        header = ",".join(columns + [spec["label"]])
        path = HERE / f"{name}.csv"
        np.savetxt(path, np.column_stack([x, y]), fmt=spec["fmt"], delimiter=",",
                   header=header, comments="")
        blob = path.read_bytes()
        manifest["datasets"][name] = {
            "file": path.name,
            "rows": int(x.shape[0]),
            "features": int(x.shape[1]),
            "label_column": spec["label"],
            "task": spec["task"],
            "bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "description": spec["description"],
            "source": spec["source"],
            "licence": spec["licence"],
        }
        print(f"{path.name}: {x.shape[0]} rows, {len(blob)} bytes")
    # Not under "datasets" (what fedlab.data.load_dataset reads): a folder of clients' files.
    manifest["derived"] = {"hospitals": write_hospitals(HERE / "breast_cancer.csv")}
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
