"""Article Markdown is rendered through an allow-list: nothing executable survives."""

from __future__ import annotations

from posdesk.knowledge.rendering import render_markdown


def test_markdown_steps_render_as_an_ordered_list() -> None:
    html = render_markdown("1. 打开纸仓盖\n2. 装纸\n\n**注意**：不要重复刷卡")
    assert "<ol>" in html and "<li>打开纸仓盖</li>" in html and "<strong>注意</strong>" in html


def test_script_tags_are_removed_with_their_content() -> None:
    html = render_markdown("前 <script>alert('x')</script> 后\n\n<style>body{display:none}</style>")
    assert "<script" not in html and "alert" not in html and "<style" not in html and "display" not in html


def test_javascript_links_lose_their_href_in_any_spelling() -> None:
    html = render_markdown(
        "[a](javascript:alert(1)) <a href=\"JaVaScRiPt:alert(2)\">b</a> <a href=\"&#106;avascript:alert(3)\">c</a>"
        " [d](data:text/html;base64,PHNjcmlwdD4=)"
    )
    assert "javascript" not in html.lower() and "data:" not in html and "href" not in html


def test_event_handlers_and_unknown_tags_are_removed() -> None:
    html = render_markdown('<img src="x.png" onerror="alert(1)"> <p onclick="steal()">点</p> <iframe src="//e"></iframe>')
    assert "onerror" not in html and "onclick" not in html and "<iframe" not in html and 'src="x.png"' in html


def test_safe_links_keep_their_address_and_cannot_reach_the_opener() -> None:
    html = render_markdown("[银联](https://cn.unionpay.com) [电话](tel:95516)")
    assert 'href="https://cn.unionpay.com"' in html and 'href="tel:95516"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
