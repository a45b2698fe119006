"""Fixed vocabularies of the sample sources: names, places, enums, note templates.

Kept apart from the simulation so the shapes of the data (what values can occur)
can be read in one place, and so tests can assert that every enum value occurs.
Enum tuples are in SPEC §1 order; the simulation stores indexes into them.
"""

from __future__ import annotations

import random

from userops.tracking_plan import EVENT_TYPES as _TRACKING_PLAN_TYPES

# --- SPEC enums --------------------------------------------------------------

SOURCE_CHANNELS = ("crawl", "sem", "organic", "referral", "cold_call", "event")
LEAD_STATUSES = ("new", "contacted", "qualified", "member", "signed", "lost")
FOLLOWUP_CHANNELS = ("phone", "wechat", "email", "visit")
FOLLOWUP_OUTCOMES = ("no_answer", "interested", "not_interested", "callback", "converted")
CONTRACT_PLANS = ("basic", "pro", "enterprise")
CONTRACT_STATUSES = ("active", "expired", "cancelled")
PLATFORMS = ("web", "ios", "android", "miniprogram")

#: The tracking plan (SPEC §1.2), in a fixed order: the simulation stores codes.
EVENT_TYPES = _TRACKING_PLAN_TYPES
#: Types the collector receives but the tracking plan does not know (quarantined).
UNKNOWN_EVENT_TYPES = ("ad_click", "share_clicked", "app_crash", "video_play")

# --- event properties --------------------------------------------------------

PAGE_PATHS = (
    "/",
    "/search",
    "/listings",
    "/listings/new",
    "/listings/detail",
    "/messages",
    "/orders",
    "/account/profile",
    "/account/company",
    "/pricing",
    "/membership",
    "/help",
    "/dashboard",
    "/reports",
)
SEARCH_QUERIES = (
    "钢材",
    "不锈钢管",
    "五金配件",
    "包装材料",
    "纸箱定制",
    "LED灯",
    "塑料颗粒",
    "纺织面料",
    "电子元器件",
    "化工原料",
    "二手设备",
    "物流服务",
    "注塑机",
    "食品添加剂",
    "汽车配件",
    "劳保用品",
    "办公家具",
    "CNC加工",
    "太阳能板",
    "锂电池",
)
FEATURES = (
    "bulk_upload",
    "data_report",
    "smart_match",
    "im_chat",
    "price_alert",
    "export_excel",
    "vr_showroom",
    "ai_copywriting",
)

# --- people and companies -----------------------------------------------------

SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
)  # fmt: skip
GIVEN_NAMES = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"),
    ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"), ("晓东", "xiaodong"),
    ("海燕", "haiyan"), ("志强", "zhiqiang"), ("丹", "dan"), ("鹏", "peng"),
    ("浩", "hao"), ("婷", "ting"), ("文博", "wenbo"), ("子涵", "zihan"),
)  # fmt: skip

#: 64 brand characters: a company's 4-character brand is a bijection of its id
#: (64**4 = 2**24 names), so two different companies never share a name and any
#: two leads with one name are the same company (a deliberate duplicate).
BRAND_CHARS = (
    ("华", "hua"), ("星", "xing"), ("达", "da"), ("瑞", "rui"), ("鑫", "xin"),
    ("盛", "sheng"), ("鼎", "ding"), ("恒", "heng"), ("泰", "tai"), ("信", "xin"),
    ("宏", "hong"), ("远", "yuan"), ("金", "jin"), ("利", "li"), ("博", "bo"),
    ("通", "tong"), ("汇", "hui"), ("丰", "feng"), ("嘉", "jia"), ("诚", "cheng"),
    ("安", "an"), ("德", "de"), ("顺", "shun"), ("兴", "xing"), ("隆", "long"),
    ("佳", "jia"), ("创", "chuang"), ("立", "li"), ("凯", "kai"), ("新", "xin"),
    ("源", "yuan"), ("海", "hai"), ("天", "tian"), ("和", "he"), ("永", "yong"),
    ("昌", "chang"), ("宇", "yu"), ("晨", "chen"), ("锐", "rui"), ("优", "you"),
    ("科", "ke"), ("中", "zhong"), ("联", "lian"), ("东", "dong"), ("方", "fang"),
    ("正", "zheng"), ("万", "wan"), ("众", "zhong"), ("亿", "yi"), ("聚", "ju"),
    ("合", "he"), ("益", "yi"), ("腾", "teng"), ("飞", "fei"), ("康", "kang"),
    ("乐", "le"), ("美", "mei"), ("欣", "xin"), ("启", "qi"), ("航", "hang"),
    ("智", "zhi"), ("云", "yun"), ("峰", "feng"), ("光", "guang"),
)  # fmt: skip

#: (province, city, city in pinyin, sales region, relative weight)
PLACES = (
    ("浙江省", "杭州市", "Hangzhou", "华东", 8),
    ("浙江省", "宁波市", "Ningbo", "华东", 5),
    ("浙江省", "温州市", "Wenzhou", "华东", 4),
    ("浙江省", "金华市", "Jinhua", "华东", 4),
    ("江苏省", "苏州市", "Suzhou", "华东", 7),
    ("江苏省", "南京市", "Nanjing", "华东", 4),
    ("江苏省", "无锡市", "Wuxi", "华东", 4),
    ("上海市", "上海市", "Shanghai", "华东", 7),
    ("安徽省", "合肥市", "Hefei", "华东", 3),
    ("山东省", "青岛市", "Qingdao", "华东", 4),
    ("山东省", "济南市", "Jinan", "华东", 3),
    ("福建省", "厦门市", "Xiamen", "华南", 3),
    ("福建省", "泉州市", "Quanzhou", "华南", 4),
    ("广东省", "广州市", "Guangzhou", "华南", 7),
    ("广东省", "深圳市", "Shenzhen", "华南", 8),
    ("广东省", "东莞市", "Dongguan", "华南", 6),
    ("广东省", "佛山市", "Foshan", "华南", 5),
    ("北京市", "北京市", "Beijing", "华北", 5),
    ("天津市", "天津市", "Tianjin", "华北", 3),
    ("河北省", "石家庄市", "Shijiazhuang", "华北", 2),
    ("河南省", "郑州市", "Zhengzhou", "华中", 3),
    ("湖北省", "武汉市", "Wuhan", "华中", 3),
    ("湖南省", "长沙市", "Changsha", "华中", 3),
    ("江西省", "南昌市", "Nanchang", "华中", 2),
    ("四川省", "成都市", "Chengdu", "西南", 4),
    ("重庆市", "重庆市", "Chongqing", "西南", 3),
    ("云南省", "昆明市", "Kunming", "西南", 1),
    ("陕西省", "西安市", "Xian", "西北", 2),
    ("辽宁省", "沈阳市", "Shenyang", "东北", 2),
    ("辽宁省", "大连市", "Dalian", "东北", 2),
)
REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")

#: (industry code, word in a Chinese company name, word in an English name)
INDUSTRIES = (
    ("manufacturing", "实业", "Industrial"),
    ("machinery", "机械", "Machinery"),
    ("electronics", "电子", "Electronics"),
    ("textiles", "纺织", "Textile"),
    ("chemicals", "化工", "Chemical"),
    ("wholesale", "贸易", "Trading"),
    ("logistics", "物流", "Logistics"),
    ("building_materials", "建材", "Building Materials"),
    ("food", "食品", "Food"),
    ("software", "科技", "Technology"),
    ("packaging", "包装", "Packaging"),
    ("auto_parts", "汽配", "Auto Parts"),
)

MOBILE_PREFIXES = ("138", "139", "136", "158", "186", "177", "188", "150", "137", "159")

SALES_TEAMS = ("电销一组", "电销二组", "大客户组", "续费组")

# --- follow-up notes, one list per outcome (FOLLOWUP_OUTCOMES order) ----------

FOLLOWUP_NOTES = (
    (  # no_answer
        "电话未接通，稍后再拨",
        "无人接听",
        "号码占线，明天再联系",
        "微信未回复",
        "邮件已发送，暂无回复",
    ),
    (  # interested
        "对专业版感兴趣，约下周演示",
        "客户想了解产品，约线上沟通",
        "已发送报价单，客户在内部评估",
        "老板有意向，需要看案例",
        "咨询企业版方案",
    ),
    (  # not_interested
        "暂无需求",
        "客户表示今年暂不考虑",
        "已在使用其他平台",
        "明确拒绝，不要再打扰",
    ),
    (  # callback
        "客户要求下周三回电",
        "负责人出差，月底再联系",
        "客户在开会，约下午回电",
        "需要和老板商量后回复",
    ),
    (  # converted
        "已签约，合同已回传",
        "付款完成，开通会员",
        "客户确认购买，已发合同",
    ),
)
RENEWAL_NOTE = "续约成功"
NO_RENEWAL_NOTE = "客户暂不续约"

# --- need themes: what a customer cares about, written into follow-up notes ---------
# Each company has one latent need (a hash of its index); a rep's note of a real
# conversation (interested, not interested, call back) usually adds a phrase about
# it, sometimes one about another need, sometimes none. The theme model
# (userops.predict.themes) must recover these themes from the text alone.

#: (theme id as in the dbt seed need_themes, fragments a rep writes about it)
NEED_THEME_PHRASES = (
    ("price_concern", (
        "觉得价格偏高", "希望有折扣", "预算有限", "询问优惠方案", "竞品报价更低",
        "希望分期付款", "年付能否打折", "费用超出预算", "担心续费涨价", "要求降低首年费用",
    )),
    ("feature_request", (
        "需要批量上架", "要求库存同步", "关心报表导出", "想要经营分析功能", "多店铺统一管理",
        "询问自定义商品字段", "希望手机端审批", "需要询盘自动分配", "想要多语言店铺",
        "希望增加新功能",
    )),
    ("after_sales", (
        "担心售后响应慢", "希望有专属客服", "需要上门培训", "上次问题没人处理", "询问实施服务",
        "要求7x24小时客服", "关心售后服务协议", "希望客服经理定期回访", "询问培训安排",
        "对售后不满意",
    )),
    ("system_integration", (
        "需要对接ERP系统", "索要API接口文档", "要求打通金蝶用友", "担心数据迁移", "对接企业微信",
        "对接钉钉", "仓储系统接口同步", "技术负责人评估接口", "财务系统打通", "历史订单导入系统",
    )),
    ("data_security", (
        "关心数据安全认证", "要求签署保密协议", "询问等保三级", "担心客户资料泄露", "需要权限分级",
        "要求私有化部署", "法务审核数据安全条款", "关心数据存储位置", "要求操作日志审计",
        "担心账号权限泄露",
    )),
)  # fmt: skip

#: Remarks about the conversation, not the need (noise words in a third of the notes).
NOTE_REMARKS = ("态度积极", "语气犹豫", "对方比较忙", "沟通顺利", "对方很客气", "决策周期较长")

#: Outcomes (FOLLOWUP_OUTCOMES indexes) whose notes record a conversation about needs.
NEED_NOTE_OUTCOMES = (1, 2, 3)


def lead_need_theme(lead: int) -> int:
    """The latent need of company ``lead`` (an index into NEED_THEME_PHRASES)."""
    return (lead * 2654435761 >> 7) % len(NEED_THEME_PHRASES)


def followup_note(outcome: int, code: int, lead: int) -> tuple[str, int | None]:
    """A follow-up note from its random ``code``: the outcome's stock note, then (in 85%
    of conversations) two fragments about a need: the company's own need in 80% of
    them, another one otherwise; a third of those add a remark about the call. Returns the text and the need written (or None).
    """
    stock = FOLLOWUP_NOTES[outcome]
    text = stock[code % len(stock)]
    pick = random.Random(code ^ (lead << 20))
    if outcome not in NEED_NOTE_OUTCOMES or pick.random() >= 0.85:
        return text, None
    theme = lead_need_theme(lead)
    if pick.random() < 0.2:  # noise: a need that is not the company's main one
        theme = (theme + pick.randrange(1, len(NEED_THEME_PHRASES))) % len(NEED_THEME_PHRASES)
    first, second = pick.sample(NEED_THEME_PHRASES[theme][1], 2)
    remark = f"，{pick.choice(NOTE_REMARKS)}" if pick.random() < 0.3 else ""
    return f"{text}，{first}，{second}{remark}", theme


def sample_notes(n: int, seed: int, companies: int) -> tuple[list[str], list[str]]:
    """``n`` notes of random outcomes and of ``companies`` companies, and the need each
    was written with (its theme id, ``none`` without one): what the theme tests and
    benchmark check the model against."""
    import numpy as np

    rng = np.random.default_rng(seed)
    outcome, code = rng.integers(0, len(FOLLOWUP_OUTCOMES), n), rng.integers(0, 1 << 20, n)
    lead = rng.integers(0, companies, n)
    texts, truth = [], []
    for o, c, ld in zip(outcome.tolist(), code.tolist(), lead.tolist(), strict=True):
        text, theme = followup_note(o, c, ld)
        texts.append(text)
        truth.append("none" if theme is None else NEED_THEME_PHRASES[theme][0])
    return texts, truth
