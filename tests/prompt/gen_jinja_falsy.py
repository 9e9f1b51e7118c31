#!/usr/bin/env python3
"""gen_jinja_falsy.py — writes the expected strings for test_jinja's "falsy"
cases: every filter and test hearth implements, applied to none, an
undefined name, '', {}, [], 0 and false, rendered by Python's jinja2 set up
as transformers does (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loop controls, transformers' tojson). Also renders
meetkai's functionary-medium-v3.1 template (which applies selectattr to
none) for tests/data/templates/extra.

Run from the repository root (needs python3-jinja2; the C test does not):
    python3 tests/prompt/gen_jinja_falsy.py [functionary-medium-v3.1.jinja]
It rewrites tests/prompt/jinja_falsy_cases.inc and
tests/data/templates/extra/meetkai-functionary-medium-v3.1.json.
"""
import json
import os
import sys

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


ENV = make_env()

# The values: how each is written in a template.
VALUES = [
    ("none", "none"),
    ("undef", "nothing"),
    ("empty_str", "''"),
    ("empty_dict", "{}"),
    ("empty_list", "[]"),
    ("zero", "0"),
    ("false", "false"),
]

# Filters with the arguments they are called with; `| list` follows those
# whose Jinja2 result is a generator, so both engines print a list.
FILTERS = [
    ("abs", "abs", False),
    ("attr", "attr('x')", False),
    ("batch", "batch(2)", True),
    ("capitalize", "capitalize", False),
    ("center", "center(6)", False),
    ("count", "count", False),
    ("d", "d('dflt')", False),
    ("default", "default('dflt')", False),
    ("default_bool", "default('dflt', true)", False),
    ("dictsort", "dictsort", False),
    ("e", "e", False),
    ("escape", "escape", False),
    ("first", "first", False),
    ("float", "float", False),
    ("format", "format()", False),
    ("indent", "indent(2)", False),
    ("int", "int", False),
    ("items", "items", True),
    ("join", "join(',')", False),
    ("last", "last", False),
    ("length", "length", False),
    ("list", "list", False),
    ("lower", "lower", False),
    ("map", "map('upper')", True),
    ("map_attr", "map(attribute='a')", True),
    ("max", "max", False),
    ("min", "min", False),
    ("pprint", "pprint", False),
    ("reject", "reject", True),
    ("reject_test", "reject('none')", True),
    ("rejectattr", "rejectattr('a')", True),
    ("rejectattr_eq", "rejectattr('type', 'equalto', 'code_interpreter')", True),
    ("replace", "replace('o', '0')", False),
    ("reverse", "reverse", True),
    ("round", "round", False),
    ("safe", "safe", False),
    ("select", "select", True),
    ("select_test", "select('none')", True),
    ("selectattr", "selectattr('a')", True),
    ("selectattr_eq", "selectattr('type', 'equalto', 'code_interpreter')", True),
    ("sort", "sort", False),
    ("string", "string", False),
    ("sum", "sum", False),
    ("title", "title", False),
    ("tojson", "tojson", False),
    ("trim", "trim", False),
    ("unique", "unique", True),
    ("upper", "upper", False),
    ("wordcount", "wordcount", False),
]

TESTS = [
    "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number",
    "string", "mapping", "iterable", "sequence", "callable", "sameas(none)", "escaped", "odd",
    "even", "divisibleby(2)", "eq(none)", "equalto(0)", "ne(none)", "lt(1)", "le(0)", "gt(0)",
    "ge(0)", "in([none, 0])", "lower", "upper", "filter", "test",
]


def c_str(s):
    out = []
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\x%02x\" \"" % ch)
    return '"' + "".join(out) + '"'


def render(tpl, ctx):
    try:
        return ENV.from_string(tpl).render(**ctx), False
    except Exception:  # any error of the reference: hearth must fail too
        return "", True


def cases():
    out = []
    for vname, vsrc in VALUES:
        for fname, fcall, gen in FILTERS:
            tpl = "{{ %s | %s%s }}" % (vsrc, fcall, " | list" if gen else "")
            exp, err = render(tpl, {})
            out.append(("falsy_%s_%s" % (fname, vname), tpl, exp, err))
        for t in TESTS:
            tpl = "{{ %s is %s }}" % (vsrc, t)
            exp, err = render(tpl, {})
            tname = t.split("(")[0]
            out.append(("falsy_is_%s_%s" % (tname, vname), tpl, exp, err))
        # `if` and `for` over the value, and the value in a boolean context
        tpl = "[{% for x in " + vsrc + " %}{{ x }},{% else %}empty{% endfor %}]"
        exp, err = render(tpl, {})
        out.append(("falsy_for_%s" % vname, tpl, exp, err))
        tpl = "{{ 'y' if %s else 'n' }}{{ not %s }}" % (vsrc, vsrc)
        exp, err = render(tpl, {})
        out.append(("falsy_bool_%s" % vname, tpl, exp, err))
    # the functionary-medium-v3.1 opening, as a small case
    tpl = ("{%- set tools = none -%}"
           "{%- set has_ci = tools | selectattr('type', 'equalto', 'code_interpreter') | list | length > 0 -%}"
           "{{ has_ci }}|{{ tools | rejectattr('type', 'equalto', 'code_interpreter') | list }}")
    exp, err = render(tpl, {})
    out.append(("functionary_tools_none", tpl, exp, err))
    return out


def functionary(template):
    tools = [
        {"type": "code_interpreter"},
        {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                          "parameters": {"type": "object", "properties": {
                                              "city": {"type": "string"}}, "required": ["city"]}}},
    ]
    base = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    contexts = [
        dict(base, messages=[{"role": "user", "content": "Hello!"}], add_generation_prompt=True),
        dict(base, messages=[{"role": "user", "content": "Hello!"}], tools=None, add_generation_prompt=True),
        dict(base, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}],
             tools=tools, add_generation_prompt=True),
        dict(base, messages=[{"role": "user", "content": "Weather in Oslo?"},
                             {"role": "assistant", "content": None, "tool_calls": [
                                 {"type": "function", "function": {"name": "get_weather",
                                                                   "arguments": "{\"city\": \"Oslo\"}"}}]},
                             {"role": "tool", "content": "{\"temp\": 3}"},
                             {"role": "assistant", "content": "3 degrees."}],
             tools=tools[1:], add_generation_prompt=False),
        dict(base, messages=[{"role": "user", "content": "Run 1+1"},
                             {"role": "assistant", "content": "", "tool_calls": [
                                 {"type": "function", "function": {"name": "python", "arguments": "print(1+1)"}}]}],
             tools=tools, add_generation_prompt=False),
    ]
    out = []
    for ctx in contexts:
        exp, err = render(template, ctx)
        assert not err, "reference failed on a functionary context"
        out.append({"context": ctx, "expected": exp})
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    with open(os.path.join(here, "jinja_falsy_cases.inc"), "w") as f:
        f.write("/* jinja_falsy_cases.inc — generated by gen_jinja_falsy.py with Python jinja2 %s\n"
                " * (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls,\n"
                " * transformers' tojson): every filter and test on none, undefined, '', {}, [],\n"
                " * 0 and false. An error case expects only that hearth fails too. Do not edit. */\n"
                % jinja2.__version__)
        for name, tpl, exp, err in cases():
            f.write("    {%s, %s, \"{}\", %s, %s},\n" % (c_str(name), c_str(tpl), c_str(exp),
                                                       "true" if err else "false"))
    extra = os.path.join(root, "tests", "data", "templates", "extra")
    dst = os.path.join(extra, "meetkai-functionary-medium-v3.1.json")
    template = None
    if os.path.exists(dst):   # the template text is kept in the JSON itself
        with open(dst) as f:
            template = json.load(f)["template"]
    elif len(sys.argv) > 1:   # first run: the .jinja file as the argument
        with open(sys.argv[1]) as f:
            template = f.read()
    if template is not None:
        doc = {
            "source": "tokenizer_config.json chat_template of meetkai/functionary-medium-v3.1 "
                      "(llama.cpp models/templates/meetkai-functionary-medium-v3.1.jinja); starts with "
                      "`set tools = none` and applies selectattr/rejectattr to it",
            "rendered_by": "Python jinja2 %s ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, "
                           "loopcontrols), transformers' tojson/raise_exception (gen_jinja_falsy.py)"
                           % jinja2.__version__,
            "template": template,
            "cases": functionary(template),
        }
        with open(dst, "w") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
