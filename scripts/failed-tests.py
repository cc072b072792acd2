#!/usr/bin/env python3
"""Prints each failed test of the given TRX files with the first lines of its message."""
import sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}

for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"FAILED? cannot read {path}: {e}")
        continue
    for result in root.iterfind(".//t:UnitTestResult[@outcome='Failed']", NS):
        message = result.findtext(".//t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
        print(f"FAILED {result.get('testName')}")
        for line in message.splitlines()[:6]:
            print(f"    {line[:400]}")
