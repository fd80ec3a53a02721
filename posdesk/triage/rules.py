"""Rules over the classifier where a rule is right (C6). Pure.

- A response code in the message (返回码96, 显示A0) is a declined transaction: category
  `transaction` (the pipeline suggests the code's article from it).
- Words that mean the merchant cannot take payments at all, or that money is at risk (收不了款,
  刷不了卡, 黑屏, 开不了机, 扣了两次, 冻结, 机器被偷), make the ticket P1 — SPEC §4 — unless the
  message says it is partial (偶尔, 有时候, 信用卡可以…): then the classifier's priority stands.
  A P1 merchant must never wait as a P3, so this rule only ever raises a priority.
- Complaints about the service itself (态度差, 放鸽子, 客服打不通, 骚扰电话) are `service_complaint`,
  whatever fault they also mention.

Patterns run on the normalised text (NFKC, lower-case) with spaces removed, so "收 不了 款" and
"刷不了 卡" match too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from posdesk.core.segmentation import normalise

RULE_CONFIDENCE = 0.95

# Response codes that point at the terminal, the acquirer or the network rather than at one
# cardholder's card (kind terminal / acquirer / network in shared/data/response_codes.csv, Q/CUP
# 006.6 A.2): every card fails the same way, so the merchant's payments are at least degraded.
TERMINAL_SIDE_CODES = frozenset({"03", "22", "30", "58", "77", "90", "91", "92", "96", "97", "98", "99", "A0", "A7"})

_P1 = re.compile(
    # cannot take payments
    r"收不了(?!短信|验证码|货|快递|小票)|收不到(?:款|钱)|收不成(?:款|钱)?|没法收(?:款|钱)|无法收(?:款|钱)|不能收(?:款|钱)|"
    r"收款(?:收)?不了|收不进(?:钱|款)|(?:一笔|一单)(?:都|也)(?:刷|收|交易|做)不|(?:一笔|一单)(?:都|也)没(?:做|收|刷)|"
    r"(?:全部|所有|每笔|每一笔|每张|每一张|任何)(?:的)?(?:交易|卡|客人|扫码|刷卡)?(?:都|全)(?:失败|不行|被拒|拒绝|提示|显示|报|刷不|读不|这样|一样|不能)|"
    r"(?:交易|刷卡|收款)(?:全部|都)失败|全部(?:交易)?失败|全都失败|交易(?:做|进行)不了|做不了(?:交易|生意)|"
    r"(?:无法|不能|没法)(?:交易|做交易|收银)|交易不了|交易一直(?:提示|失败|报|超时|显示|被拒)|一直(?:连不上|交易失败)|"
    r"刷不了(?:卡)?|刷不出|刷卡刷不|不能刷卡|无法刷卡|没法刷卡|卡都刷不|(?:都|全)读不(?:出|了)|读不了(?:任何)?卡|"
    r"输不了金额|金额输不进|输不进金额|"
    r"黑屏|开不了机|开不开机|开机开不|不开机|无法开机|开不起来|打不开机|不能开机|开机(?:键)?(?:按了)?(?:都)?没反[应映]|"
    r"完全用不了|彻底用不了|整个用不了|全都用不了|瘫痪|(?:机器|终端|pos)?(?:完全|彻底)(?:坏了|死了|没反应)|"
    # money at risk
    r"扣了?(?:两|2|二|三|3)次|扣(?:了)?两遍|扣了?(?:两|2)笔|两次都扣|(?:付|刷)了?两次.{0,6}扣|重复扣(?:款|钱|费)?|"
    r"多扣了?(?:一笔|钱|款)|被扣了两|(?:钱|款)(?:被)?扣了.{0,8}(?:没(?:收|到)|失败)|"
    r"(?:被|已|给)?冻结|风控(?:了|冻结|止付)|止付|关停|被关了|"
    r"一分钱(?:都|也)没|(?:都|全部|全都|一直)没(?:有)?(?:到账|到|结算)|钱呢|钱去哪|钱到哪|少了一大笔|少了一半|"
    r"被(?:划|转|退)走|(?:钱|款)(?:被)?(?:转|划)到了?别人|打到.{0,6}(?:别人|不认识)|"
    r"(?:被|遭)(?:偷|盗|抢)|(?:机器|机子|pos机?|终端|刷卡机)(?:给)?(?:丢了|丢失|不见了|找不到了)|"
    r"(?:钱|款|货款|余额)(?:不见了|没了)|"
    # English, written without spaces (the text is compacted)
    r"can'?t(?:accept|take)(?:any)?(?:card)?payment|cannot(?:accept|take)(?:any)?(?:card)?payment|notakingpayment|"
    r"(?:every|all)(?:the)?(?:card|transaction|payment)s?(?:is|are)?(?:declined|fail|rejected)|declinedwithcode|"
    r"chargedtwice|doublecharg|doubledebit|deductedtwice|(?:debited|charged|deducted)but|"
    r"won'?tturnon|doesn'?tturnon|nopower|blackscreen|screenisblack|deadscreen|(?:is|completely)dead|"
    r"frozenaccount|accountfrozen|accountwasfrozen|stolen|neversettled|nothingarrived|moneyismissing|missingmoney"
)
# a fault that is partial or occasional is degraded (P2), not "cannot take payments at all"
_PARTIAL = re.compile(
    r"偶尔|有时候?|有的时候|时好时坏|时不时|部分|个别|某些|一部分|间歇|"
    r"(?:信用卡|储蓄卡|借记卡|扫码|微信|支付宝|云闪付|挥卡|插卡|刷卡|磁条|芯片|闪付|别的卡|其他卡|其它卡|wifi|流量|4g|"
    r"私户|对私|公户|对公|另一台|别的机器|银联卡)(?:都|还|倒是|是)?(?:可以|能用|正常|没问题|是好的|好的)|"
    r"sometimes|occasionally|intermittent|(?:card|chip|swipe|wifi|debit)(?:s|payments)?(?:are|is)?(?:fine|ok|work)"
)
_NEGATED_P1 = re.compile(
    r"(?:没有|不是|并没|没)(?:黑屏|冻结|丢)|防止冻结|怎么(?:避免|防止)|会不会(?:被)?冻结|要赔|赔多少|如果|万一|假如|"
    r"(?:流量|年|服务|手续|会员|保险)费.{0,8}扣了?(?:两|2|三|3)次"
)

_COMPLAINT = re.compile(
    r"态度(?:差|很差|太差|恶劣|不好|极差|蛮横|很不好|非常差)|服务(?:太|很|真|极)?差|"
    r"骚扰|天天打电话|一直打电话|老是打电话|别再打|不要再打|"
    r"放(?:我)?鸽子|爽约|说好.{0,12}(?:没来|不来|没到|没人)|师傅(?:一直)?没(?:来|上门|到)|"
    r"客服.{0,6}(?:打不通|没人接|不接|不回|没人回)|(?:打不通|没人接).{0,6}客服|"
    r"踢皮球|推来推去|互相推|敷衍|"
    r"修了?(?:好几|几|两|三|[2-9])次.{0,8}(?:还|都|没|不)|"
    r"rude|nobodyanswers|noonepicksup|noshow|didn'?tshowup|terribleservice|worstservice"
)


@dataclass(frozen=True)
class RuleOutcome:
    category: str | None  # None: the rules say nothing, the classifier's category stands
    p1: bool  # the message says the merchant cannot take payments, or money is at risk
    reasons: tuple[str, ...]
    at_least_p2: bool = False  # a terminal-side response code: degraded whatever the wording


def compact(text: str) -> str:
    return re.sub(r"\s+", "", normalise(text))


def rules_apply(text: str, *, response_codes: tuple[str, ...] | list[str]) -> RuleOutcome:
    body = compact(text)
    reasons = []
    category = None
    if _COMPLAINT.search(body):
        category = "service_complaint"
        reasons.append("complaint_words")
    elif response_codes:
        category = "transaction"
        reasons.append("response_code")
    p1 = False
    match = _P1.search(body)
    if match and not _PARTIAL.search(body) and not _NEGATED_P1.search(body):
        p1 = True
        reasons.append(f"p1_words:{match.group(0)}")
    terminal_side = any(code in TERMINAL_SIDE_CODES for code in response_codes)
    if terminal_side:
        reasons.append("terminal_side_code")
    return RuleOutcome(category=category, p1=p1, reasons=tuple(reasons), at_least_p2=terminal_side)
