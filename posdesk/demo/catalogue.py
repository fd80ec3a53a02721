"""What the demo world is made of: the service company and its people, real terminal models,
Hangzhou roads, shop kinds, and the words merchants and agents use. Plain data, no database.

All people, shops, numbers and addresses are invented; road names and terminal models are real
so the screens look like the real business."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "posdesk-demo"  # noqa: S105 - a published demo password, never used outside the demo
SHOWCASE_MOBILE = "13800138000"  # the demo merchant whose contact signs in to the portal

SERVICE_COMPANY = ("hz-yixiu", "杭州易修支付服务有限公司")
FIELD_VENDOR = ("hz-sutong", "杭州速通机具维护有限公司")


@dataclass(frozen=True)
class TeamSpec:
    code: str
    name: str
    supervisor: str  # username


TEAMS = [
    TeamSpec("frontline", "一线支持组", "supervisor"),
    TeamSpec("tech-support", "技术支持组", "supervisor2"),
    TeamSpec("field-service", "现场服务组", "supervisor2"),
    TeamSpec("customer-care", "客户关怀组", "supervisor"),
]


@dataclass(frozen=True)
class StaffSpec:
    username: str
    display_name: str
    role: str
    teams: tuple[str, ...] = ()
    vendor: bool = False  # works for the field vendor, not the service company


STAFF = [
    StaffSpec("admin", "系统管理员", "admin"),
    StaffSpec("supervisor", "赵敏", "supervisor", ("frontline", "customer-care")),
    StaffSpec("supervisor2", "孙强", "supervisor", ("tech-support", "field-service")),
    StaffSpec("agent", "王晓燕", "agent", ("frontline",)),
    StaffSpec("agent2", "李娜", "agent", ("frontline",)),
    StaffSpec("agent3", "陈静", "agent", ("frontline", "customer-care")),
    StaffSpec("agent4", "刘洋", "agent", ("frontline",)),
    StaffSpec("agent5", "杨帆", "agent", ("tech-support",)),
    StaffSpec("agent6", "黄磊", "agent", ("tech-support",)),
    StaffSpec("tech", "周建国", "technician", ("field-service",)),
    StaffSpec("tech2", "吴海峰", "technician", ("field-service",)),
    StaffSpec("tech3", "郑涛", "technician", ("field-service",)),
    StaffSpec("tech4", "冯磊", "technician", ("field-service",)),
    StaffSpec("vendor", "何丽（速通调度）", "vendor", vendor=True),
    StaffSpec("vendor2", "马超（速通工程师）", "vendor", vendor=True),
    StaffSpec("vendor3", "胡斌（速通工程师）", "vendor", vendor=True),
]


@dataclass(frozen=True)
class ModelSpec:
    code: str
    manufacturer: str
    name: str
    kind: str  # TerminalModel.Kind value
    sn_prefix: str
    firmwares: tuple[str, ...]
    share: int  # relative share of the fleet
    has_printer: bool = True
    supports_contactless: bool = True


TERMINAL_MODELS = [
    ModelSpec("newland-me31", "新大陆 Newland", "ME31", "traditional", "N3NL", ("V1.3.8", "V1.4.2", "V1.4.5"), 14),
    ModelSpec("newland-sp630", "新大陆 Newland", "SP630", "traditional", "N6NL", ("V2.1.0", "V2.2.3"), 9),
    ModelSpec("newland-n910", "新大陆 Newland", "N910", "smart", "N9NL", ("Android 7.1 / 3.2.15", "Android 7.1 / 3.3.2"), 10),
    ModelSpec("pax-s90", "百富 PAX", "S90", "traditional", "PAXS90", ("Prolin 2.8.31", "Prolin 2.9.4"), 12),
    ModelSpec("pax-a920", "百富 PAX", "A920", "smart", "PAXA920", ("PayDroid 7.1 / 1.08", "PayDroid 8.1 / 2.03"), 11),
    ModelSpec("pax-q92", "百富 PAX", "Q92", "traditional", "PAXQ92", ("Prolin 2.6.12", "Prolin 2.7.0"), 6),
    ModelSpec("pax-d210", "百富 PAX", "D210", "mpos", "PAXD210", ("D210_V3.05",), 3, has_printer=False),
    ModelSpec("landi-a8", "联迪 Landi", "A8", "smart", "LDA8", ("APOS 5.1 / 2.4.9", "APOS 5.1 / 2.5.1"), 8),
    ModelSpec("landi-e550", "联迪 Landi", "E550", "traditional", "LDE550", ("E550_V6.0.3", "E550_V6.1.0"), 7),
    ModelSpec("verifone-vx675", "惠尔丰 Verifone", "VX675", "traditional", "VF675", ("QT6700A1 / 31.20", "QT6700A1 / 32.10"), 5),
    ModelSpec("verifone-vx520", "惠尔丰 Verifone", "VX520", "traditional", "VF520", ("QT5200A3 / 30.04",), 3),
    ModelSpec("sunmi-p2", "商米 SUNMI", "P2", "smart", "SMP2", ("SUNMI OS 2.6.1", "SUNMI OS 2.7.3"), 8),
    ModelSpec("newland-fr40", "新大陆 Newland", "NLS-FR40 扫码盒", "qr", "FR40NL", ("FR40_V1.0.9",), 4,
              has_printer=False, supports_contactless=False),
]

# (carrier, share, ICCID prefix)
SIM_CARRIERS = [("中国移动", 55, "898600"), ("中国联通", 30, "898601"), ("中国电信", 15, "898611")]

# Real roads per district (code → roads), for addresses that read right.
ROADS = {
    "shangcheng": ["解放路", "延安路", "庆春路", "中山南路", "望江路", "秋涛路", "凯旋路", "清泰街", "建国中路"],
    "gongshu": ["莫干山路", "湖墅南路", "大关路", "上塘路", "登云路", "丽水路", "石祥路", "香积寺路", "德胜路"],
    "xihu": ["文三路", "文二路", "天目山路", "教工路", "学院路", "古墩路", "西溪路", "文一路", "保俶路"],
    "binjiang": ["江南大道", "滨盛路", "江陵路", "长河路", "西兴路", "网商路", "秋溢路", "滨安路", "聚才路"],
    "xiaoshan": ["市心路", "金城路", "人民路", "育才路", "北干山南路", "工人路", "通惠路", "萧然南路"],
    "yuhang": ["文一西路", "五常大道", "良睦路", "荆长大道", "联胜路", "仓前街", "余杭塘路", "龙潭路"],
    "linping": ["临平大道", "迎宾路", "人民大道", "南苑街", "藕花洲大街", "星光街", "世纪大道"],
    "qiantang": ["学源街", "文泽路", "金沙大道", "下沙路", "文海南路", "月雅路", "海达南路", "学林街"],
    "fuyang": ["江滨西大道", "金桥北路", "恩波大道", "桂花路", "大桥路", "公望街", "富春街"],
    "linan": ["钱王街", "衣锦街", "城中街", "万马路", "苕溪南街", "吴越街", "锦城街"],
}
# Share of merchants per district and how far shops scatter around its centre (degrees).
DISTRICT_WEIGHTS = {
    "shangcheng": (14, 0.012), "gongshu": (13, 0.014), "xihu": (14, 0.016), "binjiang": (10, 0.012),
    "xiaoshan": (12, 0.03), "yuhang": (12, 0.03), "linping": (7, 0.02), "qiantang": (7, 0.025),
    "fuyang": (6, 0.04), "linan": (5, 0.04),
}


@dataclass(frozen=True)
class ShopKind:
    suffix: str
    mcc: str  # merchant category code, part of the MID
    share: int


SHOP_KINDS = [
    ShopKind("便利店", "5499", 16), ShopKind("超市", "5411", 9), ShopKind("餐馆", "5812", 10),
    ShopKind("面馆", "5812", 5), ShopKind("小吃店", "5814", 5), ShopKind("水果店", "5499", 8),
    ShopKind("大药房", "5912", 7), ShopKind("奶茶店", "5814", 7), ShopKind("理发店", "7230", 5),
    ShopKind("烘焙坊", "5462", 4), ShopKind("服装店", "5651", 5), ShopKind("五金店", "5251", 3),
    ShopKind("母婴店", "5641", 3), ShopKind("茶叶店", "5499", 2), ShopKind("烟酒店", "5921", 4),
    ShopKind("鲜花店", "5992", 2), ShopKind("火锅店", "5812", 3), ShopKind("早餐店", "5814", 3),
    ShopKind("洗衣店", "7210", 2), ShopKind("手机维修店", "7622", 2), ShopKind("眼镜店", "8043", 1),
]
SHOP_PREFIXES = [
    "好邻居", "老王", "兴旺", "乐家", "惠民", "百姓", "阿芳", "金鼎", "友谊", "鑫源", "福满多", "顺发", "安心",
    "如意", "开心", "红星", "明珠", "东升", "佳佳", "小蔡", "家和", "悦来", "四季", "鲜丰", "一鸣", "同仁",
    "天天", "绿源", "老杭州", "知味", "西湖", "钱江", "德胜", "湖畔", "江南", "小林", "阿强", "美味", "宏达",
    "万家", "益民", "诚信", "新时代", "兰亭", "雅致", "星辰", "春风", "平安", "吉祥", "好运来", "富春",
    "青禾", "麦香", "甜心", "柠檬", "橙子", "大福", "金穗", "康泰", "仁和", "九州", "华联", "联华", "快客",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
GIVEN_NAMES = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英",
    "建华", "海燕", "国强", "丽娟", "志刚", "晓明", "春梅", "建国", "桂英", "小红", "文斌", "玉兰", "永刚",
    "婷婷", "佳怡", "子豪", "宇航", "俊杰", "雪梅", "秋菊", "建平", "红霞", "立新",
]
CONTACT_TITLES = ["店长", "收银员", "老板娘", "财务"]
MOBILE_PREFIXES = [
    "134", "135", "136", "137", "139", "147", "150", "151", "152", "157", "158", "159", "182", "183", "187",
    "188", "198", "130", "131", "132", "155", "156", "166", "175", "176", "185", "186", "133", "153", "173",
    "177", "180", "181", "189", "199",
]
EMAIL_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "aliyun.com"]

# --- ticket texts -----------------------------------------------------------------------------
# (category, priority, the merchant's own words). `{code}` is filled with a response code.

@dataclass(frozen=True)
class Report:
    category: str
    priority: str
    text: str
    onsite: bool = False  # usually needs a technician on site
    needs_terminal: bool = True


REPORTS = [
    # hardware 硬件故障
    Report("hardware", "P1", "机器开不了机，充了一晚上电还是没反应，今天一笔都收不了", onsite=True),
    Report("hardware", "P1", "刷卡没反应，插卡也读不出来，客人只能扫码，麻烦尽快处理", onsite=True),
    Report("hardware", "P2", "打印机不出纸，换了新纸卷也不行，小票打不出来", onsite=True),
    Report("hardware", "P2", "屏幕碎了一角，触摸有时候点不动", onsite=True),
    Report("hardware", "P2", "按键失灵，数字5和8按了没反应，输金额很麻烦"),
    Report("hardware", "P2", "电池不耐用，充满电两个小时就没电了，只能插着电用"),
    Report("hardware", "P2", "挥卡没反应，手机闪付付不了，插卡还可以", onsite=True),
    Report("hardware", "P3", "机器外壳裂了，后盖合不上，能用但怕进水"),
    Report("hardware", "P2", "小票打出来字很淡，看不清楚，换了纸也一样", onsite=True),
    # software 软件系统
    Report("software", "P1", "签到失败，一直提示“签到失败，请重试”，收不了款"),
    Report("software", "P2", "收款APP老是闪退，一天要重启好几次"),
    Report("software", "P1", "开机卡在logo界面进不去，重启好几次都一样", onsite=True),
    Report("software", "P3", "提示有新版本要升级，升级到一半失败了，现在还能用吗"),
    Report("software", "P1", "刷卡显示{code}，提示密钥错误，重新签到也不行"),
    Report("software", "P2", "机器很卡，按一下要等好几秒才反应"),
    Report("software", "P3", "想改一下小票上打印的店名，现在还是原来的名字"),
    Report("software", "P2", "下载参数一直失败，提示“参数下载未完成”"),
    # network 网络通讯
    Report("network", "P1", "一直显示无网络，流量卡信号满格但连不上后台"),
    Report("network", "P2", "交易经常超时，要刷两三次才成功，客人都等急了"),
    Report("network", "P2", "店里WiFi连不上机器，换成流量卡就可以"),
    Report("network", "P1", "提示“通讯失败”，所有交易都做不了"),
    Report("network", "P3", "流量卡是不是欠费了？提示SIM卡流量不足"),
    Report("network", "P2", "中午和晚上高峰期老是连接主机超时，其他时间又好了"),
    Report("network", "P1", "SIM卡读不到了，显示“请插入SIM卡”，机器收不了款", onsite=True),
    # transaction 交易异常
    Report("transaction", "P1", "客人刷卡扣了两次钱，小票只打出一张，客人在店里等着"),
    Report("transaction", "P2", "刷卡提示{code}，客人说卡里有钱，换了张卡也一样"),
    Report("transaction", "P2", "扫码收款失败，客人付款码扫了没反应"),
    Report("transaction", "P3", "昨天一笔刷错了金额，怎么撤销？"),
    Report("transaction", "P1", "所有卡都提示“{code}”，今天一笔都收不了"),
    Report("transaction", "P2", "刷信用卡提示“{code}”，借记卡可以"),
    Report("transaction", "P2", "有笔交易显示失败但客人那边扣款了，怎么处理"),
    Report("transaction", "P3", "客人要退货，退款操作了但提示“原交易不存在”"),
    # settlement 结算到账
    Report("settlement", "P1", "昨天的钱今天还没到账，一共三万多，急着付货款", needs_terminal=False),
    Report("settlement", "P2", "到账金额和流水对不上，少了两百多", needs_terminal=False),
    Report("settlement", "P3", "想把结算卡换成另一张银行卡，要准备什么资料", needs_terminal=False),
    Report("settlement", "P2", "周末的款周一了还没到账", needs_terminal=False),
    Report("settlement", "P1", "结算卡被冻结了，这几天的款都没到账", needs_terminal=False),
    # fees 费率费用
    Report("fees", "P3", "费率怎么从0.38变成0.6了？没人通知我", needs_terminal=False),
    Report("fees", "P3", "机器押金什么时候退？已经撤机一个月了", needs_terminal=False),
    Report("fees", "P3", "流量卡年费扣了两次", needs_terminal=False),
    Report("fees", "P2", "账户里被扣了99块服务费，不知道是什么钱", needs_terminal=False),
    Report("fees", "P4", "想问一下现在有没有更低的费率活动", needs_terminal=False),
    # account 商户账户
    Report("account", "P1", "商户被风控冻结了，收不了款，我们是正规经营的", needs_terminal=False),
    Report("account", "P3", "新领的机器怎么激活？"),
    Report("account", "P3", "营业执照换了，店名也变了，商户资料怎么改", needs_terminal=False),
    Report("account", "P2", "单笔限额太低了，大额刷不了，能不能调高", needs_terminal=False),
    Report("account", "P3", "想把另一台机器绑定到我的商户号下"),
    # installation 装机移机撤机
    Report("installation", "P3", "店搬到隔壁街了，机器要移机", onsite=True),
    Report("installation", "P3", "新开了一家分店，想再装一台机器", onsite=True, needs_terminal=False),
    Report("installation", "P3", "不做了，机器要撤机，怎么退", onsite=True),
    Report("installation", "P2", "新装的机器说好上周来装，到现在还没人来", onsite=True, needs_terminal=False),
    # consultation 咨询指导
    Report("consultation", "P4", "怎么查今天的交易汇总？"),
    Report("consultation", "P4", "小票打印的字太淡了，能调浓一点吗"),
    Report("consultation", "P3", "信用卡分期怎么操作？"),
    Report("consultation", "P4", "怎么设置收银员密码？"),
    Report("consultation", "P4", "数字人民币能不能收？", needs_terminal=False),
    Report("consultation", "P3", "预授权完成怎么做？酒店客人要退房了"),
    # service_complaint 服务投诉
    Report("service_complaint", "P2", "报修三天了没人上门，打客服电话一直占线", needs_terminal=False),
    Report("service_complaint", "P2", "你们的人天天打电话推销，说了不要还打，再打我就投诉了", needs_terminal=False),
    Report("service_complaint", "P2", "上次来修的师傅态度很差，修完第二天又坏了"),
    Report("service_complaint", "P3", "约好上午上门，等了一天没人来，电话也不接", needs_terminal=False),
    Report("service_complaint", "P2", "同一个问题修了三次还没修好，能不能直接换机"),
]
# Relative volume per category: most reports are about hardware, network and transactions.
CATEGORY_SHARES = {
    "hardware": 24, "network": 16, "transaction": 17, "software": 12, "settlement": 8, "fees": 5,
    "account": 5, "installation": 5, "consultation": 6, "service_complaint": 2,
}
RESPONSE_CODES = ["A0", "05", "51", "55", "91", "96", "12", "14", "41", "54", "61", "65", "97", "99", "Z1"]
CHANNEL_SHARES = {"phone": 34, "wechat": 25, "portal": 20, "sms": 5, "email": 5, "api": 6, "console": 5}

# --- what staff and merchants write on the timeline -------------------------------------------
FIRST_REPLIES = {
    "hardware": [
        "您好，已收到您的报修。请先把机器关机，拔掉电源一分钟后再开机试试，如果还是不行我们安排工程师上门。",
        "您好，这个情况可能是硬件故障，我们会尽快安排工程师上门检测，请保持电话畅通。",
    ],
    "software": [
        "您好，已为您远程重新下发参数和密钥，请重新签到后再试一下。",
        "您好，请先在管理菜单里做一次“签到”，再进行交易。如果仍提示错误，请把屏幕拍照发给我们。",
    ],
    "network": [
        "您好，我们查到终端最近一次心跳在两小时前，请检查一下流量卡是否插好，或换到信号好的位置再试。",
        "您好，主机那边目前正常。请在通讯设置里切换到4G网络再试一下，我们同时在查线路。",
    ],
    "transaction": [
        "您好，已核实这笔交易，重复扣款部分会在3-5个工作日内原路退回客人卡上，请放心。",
        "您好，这个应答码是发卡行返回的，建议客人联系发卡行确认，或换一张卡支付。",
    ],
    "settlement": [
        "您好，已帮您查询，昨日结算款因银行系统延迟，预计今天下午4点前到账。",
        "您好，已转结算专员核对流水，有结果马上回复您。",
    ],
    "fees": [
        "您好，已帮您查询费率记录，稍后由客户经理给您回电说明。",
        "您好，押金退还申请已提交，审核通过后7个工作日内退回结算卡。",
    ],
    "account": [
        "您好，风控冻结需要补充近期的交易凭证和营业执照照片，请通过商户平台上传。",
        "您好，资料变更需要提供新的营业执照和法人身份证照片，我们收到后1-2个工作日处理。",
    ],
    "installation": [
        "您好，已为您登记移机申请，工程师会提前和您约时间上门。",
        "您好，装机申请已受理，我们会在两个工作日内联系您约上门时间。",
    ],
    "consultation": [
        "您好，在主菜单选择“管理”-“交易查询”-“汇总”即可查看当天交易汇总。",
        "您好，操作步骤已发到您的手机短信，按步骤操作即可，有问题随时联系我们。",
    ],
    "service_complaint": [
        "您好，非常抱歉给您带来不便，您的投诉已转主管处理，今天之内会给您回电。",
        "您好，很抱歉，我们已将您的号码加入免打扰名单，并在核查相关人员。",
    ],
}
FOLLOW_UP_REPLIES = [
    "请问现在机器恢复正常了吗？",
    "已处理完毕，请您做一笔小额交易测试一下。",
    "工程师已出发，预计30分钟内到店。",
    "我们已经在跟进，有进展第一时间通知您。",
]
MERCHANT_REPLIES = [
    "试了还是不行，还是一样的提示",
    "好的，谢谢，我等你们电话",
    "重启了一下可以了，谢谢",
    "明天上午店里有人，可以过来",
    "照片已经拍了，发在上面了",
    "麻烦快一点，晚上是高峰",
    "好的，已经收到钱了",
]
WAITING_REASONS = [
    "等待商户提供交易凭证照片",
    "等待商户确认方便上门的时间",
    "等待商户补充营业执照照片",
    "已请商户重启后测试，等待反馈",
]
INTERNAL_NOTES = {
    "hardware": ["远程查看终端心跳正常，疑似打印模块故障，建议上门更换", "读卡头磨损，需要带备件上门",
                 "该终端一个月内第二次报修同类问题，建议直接换机"],
    "software": ["已远程下发参数V2，签到成功", "固件版本较旧，已加入下一批升级计划"],
    "network": ["联通基站维护，影响钱塘区部分终端", "流量卡已欠费停机，已通知卡商复机"],
    "transaction": ["已提交差错处理，跟踪编号 CW20261", "应答码为发卡行拒绝，非终端问题"],
    "settlement": ["清算文件已核对，银行侧延迟", "已提交财务部核查差额"],
    "fees": ["合同费率0.38%，系统误配为0.6%，已提交调整", "押金退款已提交财务审批"],
    "account": ["风控规则命中大额交易，已提交复核", "资料已提交收单行审核"],
    "installation": ["已和商户约好周三上午上门", "新机已备好，随工程师带过去"],
    "consultation": ["已电话指导操作，商户表示会用了"],
    "service_complaint": ["已回电致歉，商户情绪平复", "涉及外呼营销，已转合规核查", "安排主管回访"],
}
ONSITE_NOTES = [
    "到店检测：打印头损坏，已更换打印模块，测试交易通过",
    "到店检测：读卡模块故障，已换备用机，旧机返厂",
    "到店检测：电池鼓包，已更换电池",
    "到店检测：SIM卡座松动，已重新固定并更换流量卡",
    "到店完成移机，重新绑定新地址，测试交易通过",
]
SCHEDULE_REASONS = ["已约商户明天上午9-12点上门", "已约商户今天下午2-5点上门", "已约商户后天上午上门"]
CANCEL_REASONS = ["商户表示问题已自行解决", "重复报修，已合并处理", "商户撤销报修", "商户电话确认无需处理"]
REOPEN_REASONS = ["商户反馈问题复现", "修好后第二天又出现同样故障"]
REJECT_REASONS = ["测试交易未通过", "商户反馈打印仍然不清楚"]
