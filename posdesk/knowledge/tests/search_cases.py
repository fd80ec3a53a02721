"""The search test set: short colloquial queries as merchants and agents type them (typos, pinyin-IME
homophones, English, mixed), each with the article that must be in the top 3. Used by
test_search_quality.py (both databases) and bench/search.py (which also compares fallbacks)."""

from __future__ import annotations

# (query, expected article slug)
SEARCH_CASES: list[tuple[str, str]] = [
    # printer
    ("打不出小票", "printer-no-paper"),
    ("打印机不出纸", "printer-no-paper"),
    ("小票出来是白的", "printer-no-paper"),
    ("没有小票", "printer-no-paper"),
    ("打印机没反应了", "printer-no-paper"),
    ("打不出小漂", "printer-no-paper"),  # homophone typo 漂 for 票
    ("printer no paper", "printer-no-paper"),
    ("小票字很淡", "printer-faint-or-jammed"),
    ("卡纸了", "printer-faint-or-jammed"),
    # card reader / contactless
    ("刷卡没反应", "card-reader-no-response"),
    ("刷不了卡", "card-reader-no-response"),
    ("插卡读不出来", "card-reader-no-response"),
    ("刷卡无反映", "card-reader-no-response"),  # 映 for 应
    ("card reader not working", "card-reader-no-response"),
    ("闪付没反应", "contactless-not-working"),
    ("挥卡不行", "contactless-not-working"),
    # sign-in and keys
    ("签到失败", "sign-in-failed"),
    ("签到失白", "sign-in-failed"),  # 白 for 败
    ("开机签不上到", "sign-in-failed"),
    ("刷卡显示A0", "key-download"),
    ("A0", "key-download"),
    ("mac校验错", "key-download"),
    ("怎么下载密钥", "key-download"),
    ("秘钥下载", "key-download"),  # 秘 for 密
    # network
    ("流量卡没网", "sim-card-no-network"),
    ("没信号", "sim-card-no-network"),
    ("机器连不上网", "sim-card-no-network"),
    ("刘量卡没网", "sim-card-no-network"),  # 刘 for 流
    ("pos机没网络", "sim-card-no-network"),
    ("wifi怎么连", "wifi-setup"),
    ("A920 连wifi", "wifi-setup"),
    # transactions
    ("交易超时", "transaction-timeout-96-98"),
    ("返回码96", "transaction-timeout-96-98"),
    ("一直转圈 交易失败", "transaction-timeout-96-98"),
    ("扣了两次钱", "double-debit"),
    ("重复扣款", "double-debit"),
    ("顾客要退钱", "refund-void"),
    ("怎么撤销", "refund-void"),
    ("扫码失败", "qr-payment-failed"),
    ("微信收款扫不了", "qr-payment-failed"),
    ("显示51", "insufficient-funds-51"),
    ("余额不足", "insufficient-funds-51"),
    ("密码错误55", "pin-wrong-55"),
    # settlement, fees
    ("钱没到账", "settlement-delay"),
    ("昨天的钱还没到", "settlement-delay"),
    ("到帐慢", "settlement-delay"),  # 帐 for 账
    ("到账少了", "settlement-amount-differs"),
    ("换结算卡", "settlement-card-change"),
    ("押金怎么退", "deposit-refund"),
    ("退压金", "deposit-refund"),  # 压 for 押
    ("deposit refund", "deposit-refund"),
    ("手续费太高", "rate-and-fees"),
    ("扣了流量费", "sim-annual-fee"),
    # account, installation
    ("新机器怎么激活", "activation"),
    ("激活码", "activation"),
    ("商户被冻结了", "risk-freeze"),
    ("风控", "risk-freeze"),
    ("店搬家了", "terminal-relocation"),
    ("移机", "terminal-relocation"),
    ("不用了要撤机", "terminal-removal"),
    ("再装一台", "new-install"),
    # hardware, software
    ("黑屏", "black-screen-no-power"),
    ("A920 黑屏", "black-screen-no-power"),
    ("开不了机", "black-screen-no-power"),
    ("电池充不进电", "battery-not-charging"),
    ("死机了", "app-crash-freeze"),
    ("闪退", "app-crash-freeze"),
    ("返回码是什么意思", "response-code-guide"),
    ("返回码77", "batch-settle-77"),
]

# internal articles: found by staff, never shown to merchants
INTERNAL_CASES: list[tuple[str, str]] = [
    ("很多商户同时报96", "mass-outage-playbook"),
    ("灌密钥", "master-key-injection"),
    ("调单", "dispute-chargeback"),
]
