# -*- coding: utf-8 -*-
"""Hypothesis strategies: hostile option values and hostile server answers."""

from __future__ import annotations

import json
import re

import requests
import urllib3
from fuzz_harness import MARKER, SESSION_TOKEN, TOKEN, Answer
from hypothesis import strategies as st

# -- option values --------------------------------------------------------------------------------------------------

# Values that have broken, or could break, a request target, a parser or a message. Every traversal aims at
# "victim", so that the harness can tell when an identifier changed the request's target.
HOSTILE_STRINGS = [
    "", " ", "  \t ", "\x00", "a\x00b", "\x07\x1b[31m", "\x7f", "\r\n", "x\r\nX-Injected: 1", "\t", "\u2028",
    "x/../victim", "../victim", "..", ".", "/", "%2e%2e/victim", "..%2fvictim", "%2e%2e%2fvictim", "fuzz?victim=1",
    "fuzz#victim", "fuzz%23victim", "fuzz%3Fvictim", "fuzz/victim", "fuzz\\..\\victim", "victim%00", "%",
    "%zz", "a b", " fuzz", "fuzz ", "fuzz\n", "ünïcødé", "名前", "💥", "\u202eevil", "\ufeffbom",
    "A" * 5000, "{{ lookup('pipe', 'id') }}", "' OR 1=1 --", "x') OR Name IN ('victim", "x' OR Name = 'victim",
    "<x>&amp;</x>", "</met:fullNames><met:fullNames>victim", "]]>", "<![CDATA[x]]>", "&lt;", "\\", "'", '"',
    "-1", "0", "null", "None", "true", "NaN", "https://evil.test/", "http://user:pass@evil.test/",
    "https://authentik.fuzz.test:99999/", "https://[::1", "file:///etc/passwd", "javascript:alert(1)",
    "//evil.test", "ftp://evil.test", "https://", "http://:80", "-----BEGIN CERTIFICATE-----\nnot base64\n"
    "-----END CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
    "return", "def x(:", "__import__('os')", "\\n", "goauthentik.io/", "goauthentik.io/../victim",
]

control_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x9f), max_size=12)
any_text = st.text(max_size=40)
hostile_string = st.one_of(st.sampled_from(HOSTILE_STRINGS), control_text, any_text,
                           st.builds(lambda s, n: s * n, st.sampled_from(["a", "/..", "%00", "é"]),
                                     st.integers(1000, 20000)))
scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                   st.floats(allow_nan=False, allow_infinity=False), hostile_string)
wrong_shape = st.one_of(st.lists(scalar, max_size=4), st.dictionaries(st.text(max_size=8), scalar, max_size=3),
                        st.just([[]]), st.just({"": None}))


def hostile_value(spec, secret=False):
    """A hostile value for one option, given its argument spec."""
    kind = spec.get("type", "str")
    if kind in ("bool", "boolean"):
        own = st.one_of(st.sampled_from(["maybe", "yes\x00", "", "2", "enabled", "TRUE ", "nan"]), st.integers())
    elif kind == "int":
        own = st.one_of(st.sampled_from([-1, 0, 2 ** 63, -(2 ** 63), 10 ** 30, "1e9", "nan", "", "0x10", " 5",
                                         "5\x00", 1.5]), st.integers())
    elif kind == "list":
        own = st.one_of(st.lists(hostile_string, max_size=4), st.just(["a"] * 300), hostile_string,
                        st.lists(wrong_shape, min_size=1, max_size=2), st.just([None]), st.just([""]))
    elif kind == "dict":
        own = st.one_of(st.dictionaries(hostile_string, st.one_of(scalar, wrong_shape), max_size=3), hostile_string,
                        st.just("k=v"), st.just({"a": {"b": {"c": [None]}}}))
    else:  # str, path, raw
        own = hostile_string
    value = st.one_of(own, own, scalar, wrong_shape)
    if secret:  # a no_log value carries a marker, so that the output can be searched for it
        value = st.one_of(hostile_string.map(lambda text: MARKER + text), hostile_string.map(lambda t: t + MARKER))
    return value


# -- server answers -------------------------------------------------------------------------------------------------

STATUSES = [200, 201, 204, 301, 302, 307, 308, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504]
RETRY_AFTERS = ["-1", "nan", "NaN", "inf", "-inf", "1e308", "99999999999", "86400", "garbage", "", " 5 ", "0x10",
                "1.5", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                "Mon, 99 Foo 2024 99:99:99 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "Sat, 01 Jan 0001 00:00:00 GMT",
                "\x00", "120", "61", "1" * 400]
LOCATIONS = ["", " ", "/", "//evil.test/steal", "https://evil.test/steal", "http://evil.test/", "javascript:alert(1)",
             "http://user:pass@evil.test/", "https://authentik.fuzz.test:99999/", "https://[::1", "ftp://evil.test/",
             "/api/v3/core/applications/", "https://authentik.fuzz.test/api/v3/", "http://authentik.fuzz.test/api/v3/",
             "http://acme.my.salesforce.com/services/data/", "https://acme.my.salesforce.com/services/data/",
             "\u00e9v\u00efl", "?page=2", "#x", "https://evil.test/?token=" + TOKEN]
CONTENT_TYPES = ["application/json", "text/html; charset=utf-8", "text/xml", "text/plain", "application/json; "
                 "charset=bogus", "application/octet-stream", ""]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                      st.floats(), st.text(max_size=20), st.sampled_from(["\x00", "A" * 10000, "</x>", "%s %d"]))
hostile_json = st.recursive(json_leaf, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(st.sampled_from(
        ["results", "pagination", "next", "pk", "name", "slug", "data", "detail", "records", "done", "access_token",
         "instance_url", "id", "version", "version_current", "error", "errorCode", "message", "metadata", "preview",
         "attributes", "nameID", "fields", "nextRecordsUrl", "Id", "url_sso_post", "signing_kp", ""]),
        children, max_size=4)), max_leaves=8)

HOSTILE_BODIES = [
    b"", b"null", b"[]", b"{}", b"[{}]", b'"text"', b"0", b"1e999", b"NaN", b"{", b"[1,", b"\x00\x01\x02",
    b"\xff\xfe\xfa", b"<html><body><h1>502 Bad Gateway</h1><script>x()</script></body></html>",
    b"<!DOCTYPE html><html><title>Sign in</title>", b'{"detail": null}', b'{"results": null}',
    b'{"results": [], "pagination": {"next": 1}}', b'{"results": [null]}', b'{"results": {"a": 1}}',
    b'{"pagination": []}', b'{"results": [{"pk": "../victim", "name": "Fuzz", "slug": "fuzz"}]}',
    b'{"results": [{"pk": {"a": 1}}], "pagination": {"next": "x"}}', b'{"records": null, "done": false}',
    b'{"records": [], "done": false, "nextRecordsUrl": "https://evil.test/next"}',
    b'{"records": [{"Id": "not-an-id"}], "done": true}', b'{"access_token": null}', b'{"access_token": 5}',
    b'{"access_token": "x", "instance_url": "https://evil.test"}', b'[{"errorCode": null, "message": null}]',
    b'[{"errorCode": "INVALID_SESSION_ID"}]', b'[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": 5}]',
    b'[{"errorCode": "UNKNOWN_EXCEPTION", "fields": "x"}]', b'{"error": ["x"], "error_description": {"a": 1}}',
    b'{"version_current": null}', b'{"version_current": "garbage"}', b'{"data": null}', b'{"metadata": []}',
    b'{"preview": {"attributes": "x"}}', b'{"preview": []}', b'{"non_field_errors": [null, {"a": []}]}',
    b'{"name": ["already exists"], "slug": {"x": ["y"]}}', b'[["nested"]]', b'"' + b"A" * 100000 + b'"',
]
HOSTILE_XML = [
    "<", "<soapenv:Envelope>", "<?xml version='1.0'?><a><b></a>", "<?xml version='1.0' encoding='bogus'?><a/>",
    "<!DOCTYPE a [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><a>&e;</a>",
    "<!DOCTYPE a [<!ENTITY a '1234567890'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;'>]>"
    "<a>&c;</a>",
    "<Envelope xmlns='urn:wrong'><Body><readMetadataResponse><result><records><fullName>authentik</fullName>"
    "</records></result></readMetadataResponse></Body></Envelope>",
    "<a:Envelope xmlns:a='http://schemas.xmlsoap.org/soap/envelope/'><a:Body><a:Fault/></a:Body></a:Envelope>",
    "<e><Fault><faultcode></faultcode><detail><exceptionCode/></detail></Fault></e>",
    "<e><Fault><faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>%s</faultstring></Fault></e>" % SESSION_TOKEN,
    "<e><readMetadataResponse><result><records xsi:type='a:b:c' xmlns:xsi='http://www.w3.org/2001/XMLSchema-"
    "instance'><fullName><x>nested</x></fullName></records></result></readMetadataResponse></e>",
    "<e><readMetadataResponse><result><records><fullName>authentik</fullName><fullName>authentik</fullName>"
    "<singleSignOnSettings>text</singleSignOnSettings><redirectBinding><a/></redirectBinding></records></result>"
    "</readMetadataResponse></e>",
    "<e><updateMetadataResponse><result><success>false</success><errors/></result></updateMetadataResponse></e>",
    "<e><createMetadataResponse><result/><result><success>true</success></result></createMetadataResponse></e>",
    "<e><upsertMetadataResponse/><deleteMetadataResponse/><readMetadataResponse/></e>",
    "<e><limitInfo><current>x</current><limit>-1</limit><type>API REQUESTS</type></limitInfo></e>",
    "<e>\x00</e>", "<e>" + "<x>" * 2000 + "</x>" * 2000 + "</e>", "<e><![CDATA[", "<?xml version='1.0'?>",
]


def _network_error(kind, url):
    if kind == "refused":
        reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] "
                                                             "Connection refused")
        return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, url, reason))
    return {"reset": requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, "
                                                         "'Connection reset by peer'))"),
            "read-timeout": requests.exceptions.ReadTimeout("Read timed out. (read timeout=30)"),
            "connect-timeout": requests.exceptions.ConnectTimeout("Connection to host timed out."),
            "tls": requests.exceptions.SSLError("certificate verify failed: self-signed certificate"),
            "chunked": requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
            "decoding": requests.exceptions.ContentDecodingError("Received response with content-encoding: gzip, "
                                                                 "but failed to decode it."),
            "redirects": requests.exceptions.TooManyRedirects("Exceeded 30 redirects."),
            "invalid-url": requests.exceptions.InvalidURL("Failed to parse: %s" % url)}[kind]


NETWORK_ERRORS = ["refused", "reset", "read-timeout", "connect-timeout", "tls", "chunked", "decoding", "redirects",
                  "invalid-url"]


@st.composite
def hostile_headers(draw, status):
    headers = {"Content-Type": draw(st.sampled_from(CONTENT_TYPES))}
    if status in (429, 503) or draw(st.booleans()):
        headers["Retry-After"] = draw(st.sampled_from(RETRY_AFTERS))
    if 300 <= status < 400 or draw(st.integers(0, 9)) == 0:
        location = draw(st.sampled_from(LOCATIONS))
        if location is not None:
            headers["Location"] = location
    if draw(st.integers(0, 5)) == 0:
        headers["Sforce-Limit-Info"] = draw(st.sampled_from(["api-usage=x/y", "api-usage=10/0", "per-app=1/2(appName=",
                                                             "api-usage=99999999999999999999/1", ""]))
    return {key: value for key, value in headers.items() if value != "" or key == "Location"}


def _echo_body(request):
    """An error page that repeats what it was sent: the Authorization header and the body (a form, SOAP)."""
    return "Invalid request. Authorization: %s. Body: %s" % (request.headers.get("Authorization"), request.text[:4000])


@st.composite
def mutated_json(draw, value):
    """The benign JSON with one part replaced, removed or re-shaped."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value, key=str)))
        copy = dict(value)
        operation = draw(st.sampled_from(["drop", "replace", "descend"]))
        if operation == "drop":
            del copy[key]
        elif operation == "replace":
            copy[key] = draw(hostile_json)
        else:
            copy[key] = draw(mutated_json(value[key]))
        return copy
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        copy = list(value)
        copy[index] = draw(mutated_json(value[index]))
        return copy
    return draw(st.one_of(hostile_json, st.just([value]), st.just(None), st.just([value, value])))


@st.composite
def mutated_xml(draw, text):
    operation = draw(st.sampled_from(["truncate", "namespace", "nul", "doctype", "retype", "duplicate", "replace"]))
    if operation == "truncate":
        return text[:draw(st.integers(0, max(0, len(text) - 1)))]
    if operation == "namespace":
        return text.replace("http://soap.sforce.com/2006/04/metadata", "urn:wrong")
    if operation == "nul":
        position = draw(st.integers(0, len(text)))
        return text[:position] + "\x00" + text[position:]
    if operation == "doctype":
        return re.sub(r"^<\?xml[^>]*\?>", "", text).replace(
            "<soapenv:Envelope", "<!DOCTYPE soapenv:Envelope [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
            "<soapenv:Envelope", 1).replace("<fullName>", "<fullName>&x;", 1)
    if operation == "retype":
        return re.sub(r'xsi:type="[^"]*"', 'xsi:type="%s"' % draw(st.sampled_from(["", "a:b:c", "met:Nope", "1"])),
                      text)
    if operation == "duplicate":
        return text.replace("<result>", "<result><result>", 1).replace("</result>", "</result></result>", 1)
    element = draw(st.sampled_from(["fullName", "success", "created", "records", "result", "redirectBinding",
                                    "singleSignOnSettings", "callbackUrl", "validationCert"]))
    replacement = draw(st.sampled_from(["", "<x/>", "true<y>z</y>", "A" * 5000, "\u00e9", "&amp;lt;"]))
    return re.sub(r"<%s>[^<]*</%s>" % (element, element), "<%s>%s</%s>" % (element, replacement, element), text)


def answer_strategy(request, benign):
    """One answer to `request`: the benign one, a mutation of it, or something hostile."""
    is_json = "json" in benign.headers.get("Content-Type", "")
    is_xml = "xml" in benign.headers.get("Content-Type", "")
    choices = [st.just(benign), st.just(benign)]
    if is_json and benign.body:
        value = json.loads(benign.body)
        choices.append(mutated_json(value).map(lambda v: Answer(benign.status, json.dumps(v).encode(),
                                                                dict(benign.headers))))
    if is_xml:
        choices.append(mutated_xml(benign.body.decode("utf-8", "surrogatepass")).map(
            lambda t: Answer.xml(t.encode("utf-8", "surrogateescape"), benign.status)))
    choices.append(hostile_answer(request))
    return st.one_of(choices)


@st.composite
def hostile_answer(draw, request):
    kind = draw(st.sampled_from(["body", "body", "json", "xml", "echo", "network"]))
    if kind == "network":
        return _network_error(draw(st.sampled_from(NETWORK_ERRORS)), request.url)
    status = draw(st.sampled_from(STATUSES))
    headers = draw(hostile_headers(status))
    if kind == "body":
        body = draw(st.sampled_from(HOSTILE_BODIES))
    elif kind == "json":
        body = json.dumps(draw(hostile_json)).encode()
    elif kind == "xml":
        body = draw(st.sampled_from(HOSTILE_XML)).encode("utf-8")
    else:
        text = _echo_body(request)
        fault = ("<e><Fault><faultcode>sf:X</faultcode><faultstring>%s</faultstring></Fault></e>"
                 % text.replace("&", "&amp;").replace("<", "&lt;"))
        choices = [text, json.dumps({"detail": text}), json.dumps([{"errorCode": "X", "message": text}]),
                   json.dumps({"error": "invalid_client", "error_description": text}), fault]
        body = draw(st.sampled_from(choices)).encode("utf-8", "surrogateescape")
    return Answer(status, body, headers)
