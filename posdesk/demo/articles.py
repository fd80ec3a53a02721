"""Demo knowledge articles (C5): the common faults of POS terminals in China, in the merchant's
words (symptoms) and the helpdesk's (steps). Loaded by `posdesk demo` through the knowledge
services, matched by slug, so a second run changes nothing; the search test set
(knowledge/tests/test_search_quality.py) runs against these texts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from posdesk.accounts.models import User
from posdesk.knowledge.models import Article
from posdesk.knowledge.services import ArticleData, article_create
from posdesk.terminals.models import TerminalModel


@dataclass(frozen=True)
class SeedArticle:
    slug: str
    title: str
    category: str
    summary: str
    symptoms: str
    steps: str
    body: str = ""
    codes: str = ""
    models: tuple[str, ...] = ()
    audience: str = "merchant"
    answer: str = ""  # a known fix's short self-service answer (empty: not a known fix)


SMART = ("pax-a920", "newland-n910")
PRINTING = ("newland-me31", "newland-sp630", "pax-s90", "pax-q92", "pax-a920", "newland-n910")

ARTICLES: list[SeedArticle] = [
    SeedArticle(
        "printer-no-paper", "打印机不出纸、打不出小票 · Printer prints nothing", "hardware",
        "小票打不出来、出白纸或提示缺纸，多数是打印纸装反、用完或纸仓盖没扣紧。",
        "打印机不出纸\n打不出小票\n小票出白纸，没有字\n提示缺纸 / 打印机缺纸\nprinter no paper\nreceipt not printing",
        "1. 打开纸仓盖，确认还有打印纸；纸卷快用完时边缘有红色提示线。\n"
        "2. 热敏纸有药面的一面朝向打印头：用指甲在纸上划一下，变黑的一面是正面。装反了会出白纸。\n"
        "3. 把纸头拉出约 2 厘米，压紧纸仓盖直到听到“咔哒”一声。\n"
        "4. 在终端菜单选择“重打印最后一笔”，检查能否打出。\n"
        "5. 仍然不出纸或有卡纸、异响、烧焦味，请停止使用打印功能并报修。",
        "热敏打印纸规格一般为 57 × 50 毫米（宽 57 毫米），请使用正规热敏纸，劣质纸会让字迹很快褪色。\n\n"
        "交易已经成功但小票没打出来时，**不要重复刷卡**，先在“交易查询”里确认。",
        models=PRINTING,
        answer="打不出小票：1.确认有打印纸；2.热敏纸药面朝打印头（指甲划过变黑的一面）；3.纸头拉出2厘米后压紧纸仓盖；"
               "4.菜单里重打印最后一笔。仍不行请回复“否”，我们安排工程师。",
    ),
    SeedArticle(
        "printer-faint-or-jammed", "小票字迹模糊、卡纸 · Faint print or paper jam", "hardware",
        "字迹淡、打印一半卡住，通常是打印头脏或纸质问题。",
        "小票字迹很淡 看不清\n打印卡纸\n打印一半就停\n打印有异响",
        "1. 关机后打开纸仓盖，用棉签蘸少量酒精轻擦打印头（纸仓内的黑色横条），晾干 1 分钟。\n"
        "2. 换一卷新的正规热敏纸。\n"
        "3. 卡纸时先关机，轻轻取出卡住的纸，不要用尖物去撬打印头。\n"
        "4. 擦拭后仍模糊或反复卡纸，请报修更换打印模块。",
        models=PRINTING,
        answer="小票字迹淡或卡纸：关机后用棉签蘸酒精轻擦打印头，晾干后换一卷新的热敏纸再试；卡纸请关机后轻轻取出，勿用尖物。仍不行请回复“否”。",
    ),
    SeedArticle(
        "card-reader-no-response", "刷卡无反应、读卡失败 · Card reader not working", "hardware",
        "刷磁条卡没反应、插卡提示读卡失败，先排除卡片和操作问题，再判断读卡器故障。",
        "刷卡没反应\n刷卡无反应\n刷不了卡\n插卡读卡失败\n提示请插卡 / 请刷卡 但读不出来\ncard reader not working",
        "1. 有芯片的卡请**插卡**（芯片朝上、朝里插到底），不要刷磁条；闪付卡可以挥卡。\n"
        "2. 刷磁条时匀速一次刷过，磁条朝向终端的磁头一侧。\n"
        "3. 换一张别的银行卡试：只有一张卡不行，多半是卡片问题，请持卡人联系发卡行。\n"
        "4. 重启终端后再试。\n"
        "5. 所有卡都刷不了、插不了，说明读卡器故障，请报修；期间可以先用扫码收款。",
        "刷卡、插卡都不行而且终端无法收款，属于影响营业的故障，我们会优先处理。",
        answer="刷卡没反应：芯片卡请插卡（芯片朝上插到底），磁条卡匀速刷一次；换一张卡试；重启终端。所有卡都不行请回复“否”，我们优先安排维修。",
    ),
    SeedArticle(
        "contactless-not-working", "闪付、挥卡（非接）没反应 · Contactless tap fails", "hardware",
        "闪付/手机 Pay 挥卡不响应，多与金额限额、感应区位置或非接模块有关。",
        "闪付没反应\n挥卡没反应\n非接读不了\n手机碰一下付不了\ncontactless tap not working",
        "1. 确认交易界面显示“请挥卡/插卡/刷卡”后再挥卡，卡片贴近屏幕上方的非接标志停留 1–2 秒。\n"
        "2. 一次只放一张卡，远离金属物品。\n"
        "3. 超过免密限额时会要求插卡输密码，属于正常。\n"
        "4. 所有卡都挥不了但插卡正常，请报修非接模块。",
        models=SMART + ("pax-s90", "newland-sp630"),
        answer="挥卡没反应：等屏幕提示“请挥卡”后，把卡贴在非接标志上停 1–2 秒，一次只放一张卡；大额需插卡输密码。所有卡都不行请回复“否”。",
    ),
    SeedArticle(
        "sign-in-failed", "签到失败 · Terminal sign-in fails", "software",
        "开机签到失败时终端不能交易，多数是网络不通或密钥不一致，可按步骤自行恢复。",
        "签到失败\n开机签到不成功\n提示签到失败 请重新签到\n不能签到 无法交易\nsign in failed",
        "1. 先检查网络：屏幕上方有信号图标，或连接的 Wi-Fi 可以上网。\n"
        "2. 在主菜单选择“签到”（有的机型在“管理 → 签到”），重新签到一次。\n"
        "3. 提示密钥错误、A0 或 99 时，按“密钥下载”一文操作后再签到。\n"
        "4. 重启终端后再签到。\n"
        "5. 仍失败请报修，并告诉我们屏幕上的提示或返回码。",
        codes="22 77",
        answer="签到失败：1.确认有信号或Wi-Fi；2.主菜单→签到，再签一次；3.重启终端后再签到。提示A0或99请先做密钥下载。仍失败请回复“否”。",
    ),
    SeedArticle(
        "key-download", "密钥下载与重新签到（A0 / 99 / A7）· Key download", "software",
        "交易提示 A0、99 或 A7，说明终端的工作密钥与中心不一致，重新签到或下载密钥即可恢复。",
        "刷卡显示A0\n提示MAC校验错 / MAC鉴别失败\n返回码99 PIN格式错\nA7 安全处理失败\n需要下载密钥\n密钥错误",
        "1. 主菜单选择“签到”，重新签到一次后再试交易。\n"
        "2. 仍提示 A0 / 99：进入“管理 → 密钥下载”（部分机型叫“下载工作密钥”或“参数下载”），等待提示成功。\n"
        "3. 下载完成后再签到一次，做一笔小额交易测试。\n"
        "4. 提示主密钥错误或下载失败，需要工程师重新灌装主密钥，请报修。",
        "工作密钥每次签到时更新；主密钥由收单机构灌装，商户无法自行恢复。",
        codes="A0 99 A7",
        answer="提示A0/99/A7：先在主菜单重新“签到”；还不行进入“管理→密钥下载”，成功后再签到并做一笔小额测试。提示主密钥错误请回复“否”，需工程师处理。",
    ),
    SeedArticle(
        "sim-card-no-network", "流量卡没网、无信号 · SIM card has no network", "network",
        "终端用流量卡上网时提示无网络、连接超时，多为流量卡欠费、松动或信号弱。",
        "流量卡没网\n流量卡没有信号\n无网络 连接不上\n机器连不上网\n提示通讯失败 / 连接超时\n物联卡停机\nSIM card no network",
        "1. 看屏幕上方信号格：没有信号时挪到窗边或门口试一试，地下室信号常常很弱。\n"
        "2. 关机，取出流量卡（在电池仓或卡槽内）擦一下金属触点，重新插紧后开机。\n"
        "3. 流量卡有年费：超过一年未续费会被停机，请在服务号里查看流量卡到期时间。\n"
        "4. 店里有 Wi-Fi 的智能 POS，可以先改连 Wi-Fi 应急。\n"
        "5. 以上都正常仍无网络，请报修更换流量卡。",
        codes="92",
        answer="流量卡没网：1.挪到窗边看信号；2.关机后取出流量卡擦触点再插紧；3.确认流量卡年费未到期；4.智能POS可先连店里Wi-Fi。仍不行请回复“否”。",
    ),
    SeedArticle(
        "wifi-setup", "智能 POS 连接 Wi-Fi · Connect a smart POS to Wi-Fi", "network",
        "A920、N910 等智能 POS 可以用店里的 Wi-Fi 代替流量卡上网。",
        "怎么连wifi\nWi-Fi连不上\n智能pos没网\nA920连wifi",
        "1. 从屏幕顶部下拉，长按 Wi-Fi 图标进入设置。\n"
        "2. 选择店里的 2.4G 网络（部分机型不支持 5G），输入密码。\n"
        "3. 连接后打开收款应用做一次签到。\n"
        "4. 连接成功但交易超时，可能是路由器限制了外网，请换流量卡或联系宽带运营商。",
        models=SMART,
        answer="智能POS连Wi-Fi：屏幕顶部下拉→长按Wi-Fi图标→选店里的2.4G网络输入密码→打开收款应用重新签到。",
    ),
    SeedArticle(
        "transaction-timeout-96-98", "交易超时、返回码 96 / 98 · Host timeout", "transaction",
        "96 是银联中心系统异常，98 是发卡行超时；先确认是否已扣款，不要急着重复刷卡。",
        "交易超时\n返回码96\n返回码98\n交易失败 系统异常\n刷卡一直转圈\ntransaction timeout",
        "1. 先在终端“交易查询”里看这笔交易是否成功；持卡人手机收到扣款短信时，也请先查询。\n"
        "2. 没有成功记录时可以稍后重试一次。\n"
        "3. 98 超时如果已扣款未出小票，系统会自动冲正退回，一般 1–3 个工作日到持卡人账户。\n"
        "4. 很多商户同时出现 96，属于系统故障，我们会发布公告，请耐心等待恢复。",
        codes="96 98 90 91",
        answer="返回码96/98：先在“交易查询”确认是否成功，未成功再重试；已扣款未出小票的，系统会自动冲正，1–3个工作日退回持卡人。",
    ),
    SeedArticle(
        "double-debit", "重复扣款、一笔扣了两次 · Customer charged twice", "transaction",
        "持卡人说被扣了两次钱时，先核对交易记录，多数是一笔成功、一笔自动冲正。",
        "重复扣款\n扣了两次钱\n顾客说扣两次\n一笔交易扣款两次\ncharged twice",
        "1. 在终端“交易查询”或商户 App 里核对这个时间段的交易，看是否真有两笔成功记录。\n"
        "2. 只有一笔成功：另一笔是超时未完成的交易，系统会自动冲正，1–3 个工作日退回。\n"
        "3. 确有两笔成功：当天可以对其中一笔做“撤销”；隔日请做“退货”。\n"
        "4. 无法判断时请报修，提供交易时间、金额、卡号后四位和参考号，我们帮您查询。",
        codes="94",
    ),
    SeedArticle(
        "refund-void", "撤销与退货怎么操作 · Void and refund", "transaction",
        "当天的交易用“撤销”，隔日及以后用“退货”，都需要原交易的参考号。",
        "怎么退款\n撤销交易\n退货怎么操作\n隔日撤销提示12\n顾客要退钱\nrefund",
        "1. 当天（结算前）的交易：主菜单 → 撤销，输入主管密码和原凭证号，刷原卡。\n"
        "2. 隔日的交易：主菜单 → 退货，输入原参考号、原交易日期和退款金额。\n"
        "3. 提示 12“无效交易”多是隔日做了撤销，请改用退货。\n"
        "4. 退款一般 3–7 个工作日退回持卡人卡里。",
        codes="12 25",
        answer="退款：当天交易用“撤销”（凭证号），隔日交易用“退货”（参考号+原交易日期）。提示12请改用退货。退款3–7个工作日回到持卡人卡上。",
    ),
    SeedArticle(
        "qr-payment-failed", "扫码收款失败 · QR code payment fails", "transaction",
        "扫顾客付款码失败或顾客扫码付不了，多是付款码过期、网络或扫码开通问题。",
        "扫码失败\n扫不了付款码\n扫码支付失败\n微信支付宝收款失败\n顾客扫码付不了\nQR payment failed",
        "1. 付款码每分钟会刷新，请顾客刷新后重新出示，并调亮手机屏幕。\n"
        "2. 扫码窗口和付款码保持 10–15 厘米，避免反光。\n"
        "3. 确认终端有网络，重新签到。\n"
        "4. 提示“商户未开通”时，请报修开通扫码功能。\n"
        "5. 顾客显示已付款、终端显示失败：先查询交易，不要让顾客再付一次。",
        answer="扫码失败：请顾客刷新付款码并调亮屏幕，保持10–15厘米扫码；确认终端有网络并重新签到。顾客已付款终端显示失败，先查询交易，不要重复收款。",
    ),
    SeedArticle(
        "settlement-delay", "资金没到账、结算延迟 · Settlement not received", "settlement",
        "T+1 按工作日结算，节假日顺延；D0 / D+1 按自然日。先看结算方式和结算卡。",
        "钱没到账\n资金没到账\n结算延迟\n昨天的钱今天没到\n到账慢\nsettlement not received",
        "1. 查看您的结算方式：T+1 在交易后的下一个工作日到账，周末、法定节假日顺延；D+1 次日到账（含周末）。\n"
        "2. 在商户 App 的“结算记录”里查看结算状态和结算卡号。\n"
        "3. 结算卡被冻结、销户或换过卡，资金会退回，请更新结算卡。\n"
        "4. 超过约定时间仍未到账，请报修并提供商户号和交易日期，我们 2 个工作日内核实。",
        "资金未到账属于资金风险，我们按最高优先级跟进。",
    ),
    SeedArticle(
        "settlement-amount-differs", "到账金额不对、少了钱 · Settled amount differs", "settlement",
        "到账金额比交易总额少，多数是手续费、退货或服务费扣减。",
        "到账金额不对\n到账少了\n结算金额和交易金额不一样\n钱少了几十块",
        "1. 到账金额 = 交易金额 − 手续费 − 当天退货 − 其他扣费（如流量卡年费、服务费）。\n"
        "2. 在商户 App 的对账单里查看每笔扣费明细。\n"
        "3. 有不认识的扣费，请报修并说明日期和金额，我们会核实；没有授权的扣费会退回。",
    ),
    SeedArticle(
        "settlement-card-change", "更换结算卡 · Change the settlement card", "settlement",
        "换结算银行卡需要本人资料审核，审核通过后的下一次结算起生效。",
        "换结算卡\n更换银行卡\n结算卡注销了\n改收款银行卡",
        "1. 准备：法人或结算人身份证正反面、新银行卡正面照片；对公账户需开户许可证。\n"
        "2. 在商户 App“结算卡变更”提交，或在本页报修由客服协助。\n"
        "3. 审核 1–2 个工作日，通过后的下一次结算打到新卡。",
    ),
    SeedArticle(
        "deposit-refund", "押金怎么退 · Refund of the terminal deposit", "fees",
        "满足活动约定的交易量后押金可以退；撤机退还机具后也可申请退押金。",
        "押金怎么退\n退押金\n押金什么时候退\n交了押金没退\n服务费押金\ndeposit refund",
        "1. 查看办理时的活动规则：多数活动在开通 90 天内累计刷卡满约定金额后自动退还押金。\n"
        "2. 达标后押金在次月 15 日前退回结算卡。\n"
        "3. 不再使用时可申请撤机：退还机具并验机通过后，押金在 7 个工作日内退回。\n"
        "4. 押金到期未退，请报修并提供商户号，我们核实活动达标情况。",
        answer="退押金：按办理时的活动规则，达标后次月15日前自动退回结算卡；撤机并退还机具验机通过后7个工作日内退回。到期未退请回复“否”，我们核实。",
    ),
    SeedArticle(
        "rate-and-fees", "费率、手续费说明 · Rates and fees", "fees",
        "不同支付方式费率不同；费率上调前会提前通知。",
        "费率是多少\n手续费太高\n费率变了\n为什么扣手续费\n费率调整",
        "1. 借记卡、贷记卡、扫码、闪付的费率各不相同，以签约时的费率表为准。\n"
        "2. 在商户 App 的“我的费率”里可以查看当前费率。\n"
        "3. 活动优惠费率到期后恢复标准费率，我们会提前通知。\n"
        "4. 对费率有疑问请报修，说明交易日期和金额，我们核对。",
    ),
    SeedArticle(
        "sim-annual-fee", "流量卡年费、服务费扣款 · SIM card annual fee", "fees",
        "流量卡（物联卡）每年收取流量费，从结算款中扣除，不缴费会停机。",
        "流量费\n流量卡年费\n扣了服务费\n为什么扣了99块\n莫名扣费",
        "1. 流量卡首年免费，次年起按年收取流量费，从到账金额中扣除，扣费前会短信通知。\n"
        "2. 在商户 App“费用明细”里可查看扣费记录。\n"
        "3. 用 Wi-Fi 不需要流量卡的智能 POS 可以申请停用流量卡、不再收费。\n"
        "4. 未收到通知的扣费，请报修核实。",
    ),
    SeedArticle(
        "activation", "新机激活 · Activate a new terminal", "account",
        "新领的 POS 需要激活绑定商户后才能交易；提示 97 终端号未登记也是未激活。",
        "新机器怎么激活\n激活失败\n终端没有激活\n返回码97 终端未登记\n激活码在哪\nactivate terminal",
        "1. 开机连上网络，按提示输入激活码（在开通短信或商户 App 里）。\n"
        "2. 激活成功后做一次签到。\n"
        "3. 提示 97 “终端号未登记”或激活码无效，请报修，我们为您绑定终端。",
        codes="97 58 03",
        answer="新机激活：开机联网后输入开通短信或商户App里的激活码，成功后签到即可。提示97或激活码无效请回复“否”，我们为您绑定终端。",
    ),
    SeedArticle(
        "risk-freeze", "商户被风控冻结、暂停交易 · Account frozen by risk control", "account",
        "风控冻结后无法交易或资金暂缓结算，需要补充材料解冻。",
        "风控冻结\n商户被冻结\n钱被冻结了\n暂停交易\n提示商户状态异常\naccount frozen",
        "1. 风控冻结多因交易异常（大额集中、夜间交易、跨地区等），系统会发短信说明需要的材料。\n"
        "2. 按要求提供：营业执照、经营场所照片、交易小票或购货凭证。\n"
        "3. 材料提交后一般 1–3 个工作日完成审核；审核通过后恢复交易并结算。\n"
        "4. 请勿反复拆单或让他人代刷，会延长冻结。",
        "冻结期间资金安全，审核通过后会全部结算。",
        codes="03",
    ),
    SeedArticle(
        "merchant-info-change", "修改商户资料 · Change merchant details", "account",
        "变更店名、地址、联系人电话等资料。",
        "改商户名称\n换联系人手机号\n修改地址\n商户资料变更",
        "1. 联系人手机号：登录商户 App 在“账户安全”里修改，需验证旧手机号。\n"
        "2. 店名、地址、经营范围：提交营业执照照片，审核 1–3 个工作日。\n"
        "3. 法人变更需要重新签约，请报修由客服协助。",
    ),
    SeedArticle(
        "terminal-relocation", "移机（换地址）· Move the terminal to a new address", "installation",
        "搬店换地址需要先报备移机，未报备异地使用可能触发风控。",
        "移机\n店搬家了 机器怎么办\n换地址使用\n搬店报备",
        "1. 在本页报修，写明新地址和搬迁时间。\n"
        "2. 同城移机一般 3 个工作日内完成地址变更，需要时工程师上门。\n"
        "3. 跨城市移机需要重新审核商户资料。\n"
        "4. 变更完成前请不要在新地址长时间交易。",
    ),
    SeedArticle(
        "terminal-removal", "撤机、不用了退机 · Remove the terminal", "installation",
        "不再使用 POS 可以申请撤机，退还机具后结清费用并退押金。",
        "撤机\n不想用了\n退机\n注销pos\n关店了机器怎么办",
        "1. 报修申请撤机，说明原因。\n"
        "2. 撤机前请完成最后一次结算，确认资金全部到账。\n"
        "3. 工程师上门或快递回收机具（含电池、充电器、底座）。\n"
        "4. 验机通过后 7 个工作日内退还押金。",
    ),
    SeedArticle(
        "new-install", "装机、加装一台 · New installation", "installation",
        "新开店装机或同一商户加装终端。",
        "新装机\n再加一台pos\n新店装机\n申请机器",
        "1. 报修写明需要的台数、机型（传统 POS / 智能 POS / 扫码盒）和安装地址。\n"
        "2. 新商户需提供营业执照、法人身份证、结算卡。\n"
        "3. 资料审核通过后 3–5 个工作日安装。",
    ),
    SeedArticle(
        "black-screen-no-power", "黑屏、开不了机 · Black screen, will not power on", "hardware",
        "开不了机或突然黑屏，先充电、重装电池，再考虑硬件故障。",
        "黑屏\n开不了机\n按开机键没反应\n屏幕不亮\nA920 黑屏\nblack screen",
        "1. 接上原装充电器充电 30 分钟以上，指示灯亮后再长按开机键 3–5 秒。\n"
        "2. 可拆电池的机型：取下电池 10 秒后重新装上再开机。\n"
        "3. 换一个插座、检查充电线是否松动。\n"
        "4. 充电无反应或屏幕有裂痕、进水，请报修。",
        models=PRINTING + ("pax-d210",),
        answer="黑屏/开不了机：接原装充电器充30分钟后长按开机键3–5秒；可拆电池的取下10秒再装上；换插座试试。仍不亮请回复“否”，我们安排维修。",
    ),
    SeedArticle(
        "battery-not-charging", "电池充不进电、掉电快 · Battery not charging", "hardware",
        "电池老化或充电器故障都会导致充不进电、用一会就关机。",
        "充不进电\n电池不耐用\n掉电快\n充电没反应\n电池鼓包",
        "1. 使用原装充电器和充电线，换一个插座试试。\n"
        "2. 清洁充电口的灰尘。\n"
        "3. 电池鼓包请立即停止使用并报修，不要继续充电。\n"
        "4. 电池使用超过两年掉电快属于正常老化，可报修更换电池（保修期外收费）。",
    ),
    SeedArticle(
        "app-crash-freeze", "死机、卡死、闪退 · Freezes or app crashes", "software",
        "终端死机或收款应用闪退，重启和清理后多能恢复。",
        "死机\n卡死不动\n应用闪退\n收款app打不开\n一直重启",
        "1. 长按电源键 10 秒强制重启。\n"
        "2. 智能 POS：设置 → 应用 → 收款应用 → 清除缓存（不要清除数据）。\n"
        "3. 检查是否有应用升级，在应用市场更新收款应用。\n"
        "4. 反复死机或不停重启，请报修。",
        models=SMART + ("pax-s90", "newland-me31"),
        answer="死机或闪退：长按电源键10秒强制重启；智能POS可在设置→应用→收款应用里清除缓存（不要清数据），并在应用市场更新收款应用。仍反复请回复“否”。",
    ),
    SeedArticle(
        "firmware-upgrade", "固件、应用升级 · Firmware and app upgrade", "software",
        "终端提示升级时请保持电量和网络，升级中不要关机。",
        "提示升级\n升级失败\n固件升级\n系统更新卡住",
        "1. 升级前电量 50% 以上或接上电源，保持网络稳定。\n"
        "2. 升级过程中不要关机、拔电池。\n"
        "3. 升级失败时重启后再次进入“管理 → 参数下载/应用升级”。\n"
        "4. 升级后无法开机或反复失败，请报修。",
        codes="30",
    ),
    SeedArticle(
        "pin-wrong-55", "密码错误 55 / 75 · Wrong PIN", "transaction",
        "55 是持卡人输错密码，75 是错误次数超限被锁，与终端无关。",
        "显示55 密码错误\n返回码75\n密码输错了\n密码次数超限",
        "1. 55：请持卡人重新输入正确的 6 位密码，输入时遮挡键盘。\n"
        "2. 75：当天密码错误次数超限，请持卡人联系发卡银行解锁或换卡。\n"
        "3. 所有卡都提示密码错误，可能是终端密钥异常，请按“密钥下载”一文重新签到。",
        codes="55 75",
        answer="返回码55是持卡人密码输错，请重新输入；75是密码错误次数超限，请持卡人联系发卡行解锁或换卡。所有卡都报密码错请重新签到。",
    ),
    SeedArticle(
        "insufficient-funds-51", "余额不足 51、卡受限 · Declined by the card issuer", "transaction",
        "51、61、62、65 等由发卡行拒绝，请持卡人换卡；终端本身正常。",
        "显示51\n余额不足\n交易被拒 返回码51\n返回码61 超限额\n卡被拒绝",
        "1. 51 余额不足、61 超出金额限制、62 受限制的卡、65 超出次数：请持卡人换一张卡或改用扫码。\n"
        "2. 这些是发卡行的结果，重复刷同一张卡不会成功。\n"
        "3. 很多不同的卡都被拒，请报修检查终端。",
        codes="51 61 62 65 01 05 14 15 33 36 40 54 57 59",
        answer="返回码51/61/62/65等是发卡行拒绝（余额不足、超限额等），终端正常，请持卡人换一张卡或改用扫码支付。",
    ),
    SeedArticle(
        "lost-stolen-card", "挂失卡、被窃卡 41 / 43 / 04 · Lost or stolen card", "transaction",
        "提示 41、43、04、34 时请拒收此卡，不要反复重试。",
        "显示41\n返回码43 被窃卡\n没收卡\n有作弊嫌疑",
        "1. 礼貌告知持卡人此卡无法使用，请其联系发卡银行。\n"
        "2. 不要反复尝试同一张卡。\n"
        "3. 如发现可疑情况，保留小票并联系收单机构。",
        codes="41 43 04 34",
    ),
    SeedArticle(
        "response-code-guide", "应答码（返回码）速查 · Response code guide", "consultation",
        "交易失败时屏幕或小票上的两位应答码，说明由谁处理：持卡人、商户还是我们。",
        "应答码是什么意思\n返回码查询\n错误码对照表\n交易失败显示代码\nresponse code",
        "1. **发卡行类**（01、05、14、51、55、61 等）：持卡人的卡有问题，请其换卡或联系银行。\n"
        "2. **终端类**（A0、99、A7、22、77、30）：重新签到或下载密钥，仍失败请报修。\n"
        "3. **网络类**（90、91、92、96、98）：稍后重试；大面积出现是系统故障。\n"
        "4. **开通类**（03、58、97）：商户或终端未开通，请报修。\n"
        "5. 在本页搜索“返回码”加代码（如“返回码 A0”）可查看具体说明。",
    ),
    SeedArticle(
        "batch-settle-77", "批次不一致 77、结算 · Batch mismatch", "software",
        "77 是终端批次与中心不一致，先结算再重新签到。",
        "返回码77\n批次号不一致\n怎么结算\n日结",
        "1. 主菜单 → 结算，完成本批次结算并打印结算单。\n"
        "2. 结算完成后重新签到。\n"
        "3. 再做一笔小额交易测试。",
        codes="77",
        answer="返回码77：在主菜单选“结算”完成本批次结算，然后重新签到，再做一笔小额交易测试。",
    ),
    SeedArticle(
        "mass-outage-playbook", "大面积交易失败处置（内部）· Mass outage playbook", "transaction",
        "多个商户同时报 96 / 超时：确认影响范围、上报收单、统一回复，避免逐单排查。",
        "大面积交易失败\n很多商户同时报96\n系统故障 批量报修",
        "1. 在事件页面确认是否已有进行中的事件；有则直接关联工单。\n"
        "2. 统计区域、机型、返回码，判断是主机、通道还是网络运营商问题。\n"
        "3. 电话联系收单机构值班，获取预计恢复时间（ETA）。\n"
        "4. 通过联系门控发送统一公告，不要逐个外呼。\n"
        "5. 恢复后抽查 10 家商户交易正常，再批量解决工单。",
        codes="96",
        audience="internal",
    ),
    SeedArticle(
        "master-key-injection", "主密钥灌装（内部，工程师）· Master key injection", "software",
        "A0 / A7 反复出现、密钥下载失败时，由工程师携带密钥母 POS 上门灌装。",
        "主密钥灌装\n灌密钥\n密钥下载失败\nA0反复出现",
        "1. 核对终端 SN、TID 与工单一致。\n"
        "2. 用密钥母 POS 或灌装工具按机型手册灌装主密钥，双人操作并登记。\n"
        "3. 灌装后签到、下载工作密钥，做一笔 0.01 元测试并撤销。\n"
        "4. 在工单里记录灌装时间和批次。",
        codes="A0 A7",
        audience="internal",
    ),
    SeedArticle(
        "dispute-chargeback", "调单、拒付处理（内部）· Disputes and chargebacks", "transaction",
        "发卡行调单时，需在规定时间内向商户收集小票和交易凭证。",
        "调单\n拒付\n持卡人投诉交易\n调取签购单",
        "1. 收到调单通知后 3 个工作日内联系商户。\n"
        "2. 收集签购单（持卡人签名）、购货凭证、物流单据。\n"
        "3. 上传至收单机构调单系统；逾期未回复将被拒付。",
        audience="internal",
    ),
]


@transaction.atomic
def demo_articles_load(*, actor: User | None = None) -> int:
    """Create the demo articles that are missing (matched by slug), published, as the demo admin.
    Returns how many were created."""
    actor = actor or User.objects.filter(role="admin").order_by("pk").first()
    if actor is None:
        return 0
    existing = set(Article.objects.values_list("slug", flat=True))
    models = dict(TerminalModel.objects.values_list("code", "pk"))
    created = 0
    for seed in ARTICLES:
        if seed.slug in existing:
            continue
        article_create(actor=actor, data=ArticleData(
            slug=seed.slug, title=seed.title, category=seed.category, summary=seed.summary, symptoms=seed.symptoms,
            steps=seed.steps, body=seed.body, response_codes=seed.codes, audience=seed.audience,
            status="published", known_fix=bool(seed.answer), self_service_answer=seed.answer,
            terminal_model_ids=[models[code] for code in seed.models if code in models],
        ))
        created += 1
    return created
