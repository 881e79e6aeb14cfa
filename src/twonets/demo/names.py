"""Name parts for synthetic residents, firms and addresses (common, not real people)."""

from __future__ import annotations

SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 "
    "石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾 毛 郝 龚 邵"
).split()

GIVEN_CHARACTERS = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 萍 红 鹏 辉 建 "
    "文 斌 宇 浩 凯 晨 欣 怡 佳 琳 雪 婷 梦 子 涵 轩 睿 博 思 雨 嘉 诗 晓 慧 俊 峰 海 波 宁 东 "
    "瑞 安 然 悦 彤 颖 晶 岚 昊 天 泽 航 毅 川 琪 蕾 璐 倩 菲 薇 燕 丹 青 松 林 森 远 舟 言"
).split()

FIRM_WORDS = (
    "浦江 申城 东方 华亭 沪港 长江 新沪 汇金 云帆 锦程 星河 申联 外滩 江南 滨江 嘉禾 中环 "
    "海纳 融创 启明 天马 明珠 松江 青浦 晨光 远洋 智城 易达 众邦 恒信 百川 瑞丰 宏图 金桥"
).split()

INDUSTRIES = (
    ("科技", "information technology"),
    ("贸易", "trade"),
    ("餐饮管理", "catering"),
    ("物流", "logistics"),
    ("建设工程", "construction"),
    ("文化传媒", "media"),
    ("医疗器械", "medical devices"),
    ("咨询", "consulting"),
    ("新能源", "new energy"),
    ("物业管理", "property management"),
    ("运输", "transport"),
    ("教育科技", "education"),
)

FIRM_SUFFIXES = ("有限公司", "有限公司", "股份有限公司", "有限公司")

STREETS = (
    "南京东路 淮海中路 中山南路 延安西路 四川北路 长寿路 曹杨路 控江路 世纪大道 张杨路 "
    "沪闵路 吴中路 漕宝路 宝杨路 牡丹江路 城中路 博乐路 南桥路 人民路 公园路 新松江路 "
    "城中北路 漕溪北路 虹桥路 天山路 江宁路 大连路 四平路 陆家嘴环路 锦绣路"
).split()
