"""Scenario form generated from `dempack.scenario.SCHEMA` (the single source of truth).

Every key of the schema gets a widget (a choice box for `choices`, a line
edit otherwise) with its doc string as tooltip and an error label beside it.
Values are read back as TOML types and validated by `dempack.scenario.Scenario`
itself, so the form, the CLI and the Python API accept exactly the same files;
each message of the validator is shown next to the field it names.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from dempack.scenario import REQUIRED, SCHEMA, SECTIONS, Field, Scenario, ScenarioError



def _pages() -> list[tuple[str, str]]:
    """Form pages: every schema section in SECTIONS order, the material list after
    packing and the pressing stages after the die."""
    out = []
    for name in SECTIONS:
        out.append((name.capitalize(), name))
        if name == "packing":
            out.append(("Materials", "materials"))
        if name == "die":
            out.append(("Pressing", "pressing"))
    return out

MATERIAL_KEYS = ("material", "wall_material")
_ERR_TABLE = re.compile(r"^(packing\.materials|pressing)\[(\d+)\](?:\.(\w+))?")
_ERR_KEY = re.compile(r"^(" + "|".join(SECTIONS) + r")\.(\w+)")


def _material_names() -> list[str]:
    try:
        from dempack.materials import load_materials
        return list(load_materials())
    except Exception:  # the validator reports a broken table; the form still opens
        return []


def scenario_files() -> list[Path]:
    """The ready scenarios in scenarios/ (sweep definitions, with a [sweep] table, left out)."""
    from dempack.scenario import SCENARIO_DIR
    out = []
    for p in sorted(SCENARIO_DIR.glob("*.toml")):
        try:
            if "sweep" in tomllib.loads(p.read_text()):
                continue
        except (OSError, tomllib.TOMLDecodeError):
            pass  # a broken file is listed; opening it shows the error
        out.append(p)
    return out


def header_comment(path) -> str:
    """The leading comment block of a TOML file, as plain text (scenario explanation)."""
    lines = []
    for line in Path(path).read_text().splitlines():
        s = line.strip()
        if s.startswith("#"):
            lines.append(s.lstrip("#").strip())
        elif s or lines:
            break
    paras, cur = [], []
    for ln in lines:
        if ln:
            cur.append(ln)
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return "\n\n".join(paras)


class FieldEdit(QtCore.QObject):
    """One schema key: input widget + error label. value() returns a TOML value,
    None when an optional field is left empty, or the raw text when it does not
    parse (the validator then says what is allowed)."""

    changed = QtCore.Signal()

    def __init__(self, key: str, field: Field, parent=None):
        super().__init__(parent)
        self.key, self.field = key, field
        if field.choices:
            w = QtWidgets.QComboBox()
            w.addItems([str(c) for c in field.choices])
            w.currentIndexChanged.connect(self.changed)
        elif field.type is bool:
            w = QtWidgets.QCheckBox()
            w.toggled.connect(self.changed)
        elif key in MATERIAL_KEYS:
            w = QtWidgets.QComboBox()
            w.setEditable(True)
            w.addItems(_material_names())
            w.currentTextChanged.connect(self.changed)
        else:
            w = QtWidgets.QLineEdit()
            if field.default is None:
                w.setPlaceholderText("not set")
            elif field.default is REQUIRED:
                w.setPlaceholderText("required")
            w.textChanged.connect(self.changed)
        w.setObjectName(key)
        unit = f" [{field.unit}]" if field.unit else ""
        w.setToolTip(f"{field.doc}{unit}\nAllowed: {field.allowed()}")
        self.widget = w
        self.error = QtWidgets.QLabel()
        self.error.setObjectName(f"error_{key}")
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        self.error.hide()

    # ----------------------------------------------------------- values
    def set_value(self, v) -> None:
        w = self.widget
        if isinstance(w, QtWidgets.QCheckBox):
            w.setChecked(bool(v))
        elif isinstance(w, QtWidgets.QComboBox):
            text = "" if v is None else str(v)
            if w.findText(text) < 0:
                w.addItem(text)
            w.setCurrentIndex(w.findText(text))
        else:
            w.setText("" if v is None else (repr(v) if isinstance(v, float) else str(v)))

    def text(self) -> str:
        w = self.widget
        if isinstance(w, QtWidgets.QComboBox):
            return w.currentText()
        if isinstance(w, QtWidgets.QLineEdit):
            return w.text()
        return str(w.isChecked())

    def set_text(self, text: str) -> None:
        """Type `text` into the field as a user would."""
        w = self.widget
        if isinstance(w, QtWidgets.QComboBox):
            if w.isEditable():
                w.setEditText(text)
            else:
                w.setCurrentIndex(w.findText(text))
        else:
            w.setText(text)

    def value(self):
        if isinstance(self.widget, QtWidgets.QCheckBox):
            return self.widget.isChecked()
        text = self.text().strip()
        if text == "":
            return None
        t = self.field.type
        if t is str:
            return text
        try:
            v = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            try:
                v = float(text) if t is float else text
            except ValueError:
                return text
        if t is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        return v

    def show_error(self, msg: str | None) -> None:
        self.error.setText(msg or "")
        self.error.setVisible(bool(msg))


class TableForm(QtWidgets.QWidget):
    """Form of one schema table (a section, or one element of an array of tables)."""

    changed = QtCore.Signal()

    def __init__(self, schema_name: str, parent=None):
        super().__init__(parent)
        self.schema_name = schema_name
        lay = QtWidgets.QFormLayout(self)
        lay.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
        self.general = QtWidgets.QLabel()
        self.general.setStyleSheet("color: #c0392b;")
        self.general.setWordWrap(True)
        self.general.hide()
        lay.addRow(self.general)
        self.fields: dict[str, FieldEdit] = {}
        for key, f in SCHEMA[schema_name].items():
            fe = FieldEdit(key, f, self)
            fe.changed.connect(self.changed)
            box = QtWidgets.QWidget()
            h = QtWidgets.QVBoxLayout(box)
            h.setContentsMargins(0, 0, 0, 0)
            h.setSpacing(1)
            h.addWidget(fe.widget)
            h.addWidget(fe.error)
            label = QtWidgets.QLabel(key)
            label.setToolTip(fe.widget.toolTip())
            lay.addRow(label, box)
            self.fields[key] = fe

    def set_values(self, values: dict) -> None:
        for key, fe in self.fields.items():
            v = values.get(key, fe.field.default)
            fe.set_value(None if v is REQUIRED else v)

    def values(self) -> dict:
        out = {}
        for key, fe in self.fields.items():
            v = fe.value()
            if v is not None:
                out[key] = v
        return out

    def clear_errors(self):
        self.general.hide()
        for fe in self.fields.values():
            fe.show_error(None)

    def add_general(self, msg: str):
        text = self.general.text()
        self.general.setText((text + "\n" if text and self.general.isVisible() else "") + msg)
        self.general.show()


class TableList(QtWidgets.QWidget):
    """An array of tables ([[packing.materials]], [[pressing]]): tabs + add/remove."""

    changed = QtCore.Signal()

    def __init__(self, schema_name: str, title: str, parent=None):
        super().__init__(parent)
        self.schema_name, self.title = schema_name, title
        v = QtWidgets.QVBoxLayout(self)
        self.general = QtWidgets.QLabel()
        self.general.setStyleSheet("color: #c0392b;")
        self.general.setWordWrap(True)
        self.general.hide()
        v.addWidget(self.general)
        bar = QtWidgets.QHBoxLayout()
        add = QtWidgets.QPushButton(f"Add {title}")
        rem = QtWidgets.QPushButton(f"Remove {title}")
        add.clicked.connect(lambda: self.add({}))
        rem.clicked.connect(self.remove_current)
        bar.addWidget(add)
        bar.addWidget(rem)
        bar.addStretch(1)
        v.addLayout(bar)
        self.tabs = QtWidgets.QTabWidget()
        v.addWidget(self.tabs, 1)
        self.forms: list[TableForm] = []

    def add(self, values: dict) -> TableForm:
        form = TableForm(self.schema_name)
        form.set_values(values)
        form.changed.connect(self.changed)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)
        self.forms.append(form)
        self.tabs.addTab(scroll, f"{self.title} {len(self.forms)}")
        self.changed.emit()
        return form

    def remove_current(self):
        k = self.tabs.currentIndex()
        if k < 0:
            return
        self.tabs.removeTab(k)
        self.forms.pop(k)
        for i in range(self.tabs.count()):
            self.tabs.setTabText(i, f"{self.title} {i + 1}")
        self.changed.emit()

    def set_rows(self, rows: list[dict]):
        while self.forms:
            self.tabs.removeTab(0)
            self.forms.pop(0)
        for r in rows:
            self.add(r)

    def rows(self) -> list[dict]:
        return [f.values() for f in self.forms]


class ScenarioEditor(QtWidgets.QWidget):
    """The scenario form. Signals: `validity_changed(bool)` after each edit.

    load(path) / save(path) read and write TOML that `dempack run` accepts;
    scenario() returns the validated Scenario (raises ScenarioError)."""

    validity_changed = QtCore.Signal(bool)
    edited = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = "<editor>"
        self.errors: list[str] = []
        v = QtWidgets.QVBoxLayout(self)
        v.setContentsMargins(2, 2, 2, 2)
        self.summary = QtWidgets.QLabel()
        self.summary.setObjectName("error_summary")
        self.summary.setWordWrap(True)
        v.addWidget(self.summary)
        self.tabs = QtWidgets.QTabWidget()
        v.addWidget(self.tabs, 1)
        self.sections: dict[str, TableForm] = {}
        self.materials = TableList("materials", "material")
        self.pressing = TableList("pressing", "stage")
        for title, name in _pages():
            if name == "materials":
                w = self.materials
            elif name == "pressing":
                w = self.pressing
            else:
                form = TableForm(name)
                self.sections[name] = form
                w = QtWidgets.QScrollArea()
                w.setWidgetResizable(True)
                w.setWidget(form)
            self.tabs.addTab(w, title)
        self._loading = False
        for form in self.sections.values():
            form.changed.connect(self._on_edit)
        self.materials.changed.connect(self._on_edit)
        self.pressing.changed.connect(self._on_edit)

    # ------------------------------------------------------------ data
    def set_data(self, data: dict, source: str = "<editor>") -> None:
        """Fill the form from a scenario dict (as in a TOML file)."""
        self._loading = True
        try:
            self.source = source
            for name, form in self.sections.items():
                vals = dict(data.get(name, {}))
                vals.pop("materials", None)
                form.set_values(vals)
            self.materials.set_rows(list(data.get("packing", {}).get("materials", [])))
            self.pressing.set_rows(list(data.get("pressing", [])))
        finally:
            self._loading = False
        self.validate()

    def load(self, path) -> None:
        """Load a scenario file (validated first: a broken file raises ScenarioError)."""
        from dempack.scenario import load_scenario
        sc = load_scenario(path)
        self.set_data(sc.to_dict(), str(path))

    def data(self) -> dict:
        """The form as a scenario dict (TOML types; empty optional fields left out)."""
        d = {name: form.values() for name, form in self.sections.items()}
        d["packing"]["materials"] = self.materials.rows()
        d["pressing"] = self.pressing.rows()
        return d

    def scenario(self) -> Scenario:
        return Scenario(self.data(), self.source)

    def save(self, path) -> None:
        """Write the scenario as TOML (raises ScenarioError if the form is invalid)."""
        self.scenario().save(path)
        self.source = str(path)

    def field(self, dotted: str) -> FieldEdit:
        """FieldEdit of 'cycling.c_rate', 'pressing.0.pressure_MPa', 'materials.1.d50_um'."""
        parts = dotted.split(".")
        if parts[0] in ("pressing", "materials"):
            lst = self.pressing if parts[0] == "pressing" else self.materials
            return lst.forms[int(parts[1])].fields[parts[2]]
        return self.sections[parts[0]].fields[parts[1]]

    # ------------------------------------------------------ validation
    def _on_edit(self):
        if not self._loading:
            self.validate()
            self.edited.emit()

    def is_valid(self) -> bool:
        return not self.errors

    def validate(self) -> list[str]:
        """Validate with the schema; show each message beside its field."""
        for form in list(self.sections.values()) + self.materials.forms + self.pressing.forms:
            form.clear_errors()
        for lst in (self.materials, self.pressing):
            lst.general.hide()
        try:
            self.scenario()
            errors = []
        except ScenarioError as e:
            errors = [ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()]
        self.errors = errors
        unplaced = [msg for msg in errors if not self._place(msg)]
        if errors:
            self.summary.setText(f"<span style='color:#c0392b'>{len(errors)} problem(s): "
                                 "fix the fields marked in red to enable Run."
                                 + "".join("<br>" + _html(m) for m in unplaced) + "</span>")
        else:
            self.summary.setText("<span style='color:#27ae60'>Scenario valid.</span>")
        self.validity_changed.emit(not errors)
        return errors

    def _place(self, msg: str) -> bool:
        """Show `msg` beside the field it names; False if it names none."""
        m = _ERR_TABLE.match(msg)
        if m:
            lst = self.materials if m.group(1) == "packing.materials" else self.pressing
            k = int(m.group(2))
            if k < len(lst.forms):
                form = lst.forms[k]
                if m.group(3) in form.fields:
                    form.fields[m.group(3)].show_error(msg)
                else:
                    form.add_general(msg)
                return True
        if msg.startswith("packing.materials") or msg.startswith("pressing"):
            lst = self.materials if msg.startswith("packing.materials") else self.pressing
            lst.general.setText(msg)
            lst.general.show()
            return True
        m = _ERR_KEY.match(msg)
        if m and m.group(2) in self.sections[m.group(1)].fields:
            self.sections[m.group(1)].fields[m.group(2)].show_error(msg)
            return True
        return False  # unknown section, broken materials table: shown in the summary


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
