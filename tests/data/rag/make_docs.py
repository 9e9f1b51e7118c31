#!/usr/bin/env python3
"""Writes the small documents tests/rag uses (run from this folder; the
outputs are committed): a two-page PDF, an encrypted PDF, a truncated PDF,
a DOCX with headings, a DOCX zip bomb (word/document.xml inflates to
80 MB of spaces from about 80 KB), and a zip that is not a DOCX."""
import zipfile, zlib, os

def pdf(pages, encrypt=False):
    objs = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objs.append("<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    font = 3 + 2 * len(pages)
    for i, lines in enumerate(pages):
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                    f"/Resources << /Font << /F1 {font} 0 R >> >> >>")
        body = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({l}) '" for l in lines) + " ET"
        objs.append(f"<< /Length {len(body)} >>\nstream\n{body}\nendstream")
    objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    if encrypt:
        objs.append("<< /Filter /Standard /V 1 /R 2 /O <" + "11" * 32 + "> /U <" + "22" * 32 + "> /P -4 >>")
    out = b"%PDF-1.4\n"
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += f"{i + 1} 0 obj\n{o}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for o in offs:
        out += f"{o:010d} 00000 n \n".encode()
    trailer = f"<< /Size {len(objs) + 1} /Root 1 0 R"
    if encrypt:
        trailer += f" /Encrypt {len(objs)} 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]"
    out += f"trailer\n{trailer} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out

pages = [["Hearth field manual, page one.", "The boiler pressure must stay below 2.5 bar.",
          "Check the gauge every morning."],
         ["Page two covers the chimney.", "Sweep the chimney flue twice a year, in spring and autumn."]]
open("manual.pdf", "wb").write(pdf(pages))
open("encrypted.pdf", "wb").write(pdf(pages, encrypt=True))
open("truncated.pdf", "wb").write(pdf(pages)[:300])

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
def para(text, style=None):
    ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
    runs = "".join(f'<w:r><w:t xml:space="preserve">{t}</w:t></w:r>' for t in text.split("|"))
    return f"<w:p>{ppr}{runs}</w:p>"
body = (para("Kiln safety", "Title") + para("Loading", "Heading1") +
        para("Stack the |pots on |shelves with a finger of space between them.") +
        para("Firing", "Heading1") + para("Raise the temperature by 100 degrees per hour up to 1240 degrees."))
doc = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>'
ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="xml" ContentType="application/xml"/></Types>')
with zipfile.ZipFile("kiln.docx", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("[Content_Types].xml", ct)
    z.writestr("word/document.xml", doc)
with zipfile.ZipFile("bomb.docx", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.writestr("[Content_Types].xml", ct)
    z.writestr("word/document.xml", f'<w:document {W}><w:body><w:p><w:r><w:t>' + " " * (80 << 20) +
               '</w:t></w:r></w:p></w:body></w:document>')
with zipfile.ZipFile("notadocx.docx", "w") as z:
    z.writestr("hello.txt", "no word/document.xml here")
