"""gazetteer.romanize: GB/T 16159 romanization of every Guangdong county-level division and city."""

import csv
from pathlib import Path

import pytest
from case_tables import cases

from gazetteer.romanize import Romanization, romanize, split_name

DATA = Path(__file__).resolve().parents[1] / "data" / "gd_names.csv"

# The official romanized forms (《中华人民共和国行政区划简册》, GB/T 16159 word division:
# specific and generic written separately and capitalised; ethnic autonomous counties in
# customary form; 汕尾市城区 as one word).
EXPECTED = {
    "广东省": "Guangdong Sheng",
    # 21 prefecture-level cities
    "广州市": "Guangzhou Shi",
    "韶关市": "Shaoguan Shi",
    "深圳市": "Shenzhen Shi",
    "珠海市": "Zhuhai Shi",
    "汕头市": "Shantou Shi",
    "佛山市": "Foshan Shi",
    "江门市": "Jiangmen Shi",
    "湛江市": "Zhanjiang Shi",
    "茂名市": "Maoming Shi",
    "肇庆市": "Zhaoqing Shi",
    "惠州市": "Huizhou Shi",
    "梅州市": "Meizhou Shi",
    "汕尾市": "Shanwei Shi",
    "河源市": "Heyuan Shi",
    "阳江市": "Yangjiang Shi",
    "清远市": "Qingyuan Shi",
    "东莞市": "Dongguan Shi",
    "中山市": "Zhongshan Shi",
    "潮州市": "Chaozhou Shi",
    "揭阳市": "Jieyang Shi",
    "云浮市": "Yunfu Shi",
    # 广州
    "荔湾区": "Liwan Qu",
    "越秀区": "Yuexiu Qu",
    "海珠区": "Haizhu Qu",
    "天河区": "Tianhe Qu",
    "白云区": "Baiyun Qu",
    "黄埔区": "Huangpu Qu",
    "番禺区": "Panyu Qu",
    "花都区": "Huadu Qu",
    "南沙区": "Nansha Qu",
    "从化区": "Conghua Qu",
    "增城区": "Zengcheng Qu",
    # 韶关
    "武江区": "Wujiang Qu",
    "浈江区": "Zhenjiang Qu",
    "曲江区": "Qujiang Qu",
    "始兴县": "Shixing Xian",
    "仁化县": "Renhua Xian",
    "翁源县": "Wengyuan Xian",
    "乳源瑶族自治县": "Ruyuan Yaozu Zizhixian",
    "新丰县": "Xinfeng Xian",
    "乐昌市": "Lechang Shi",
    "南雄市": "Nanxiong Shi",
    # 深圳
    "罗湖区": "Luohu Qu",
    "福田区": "Futian Qu",
    "南山区": "Nanshan Qu",
    "宝安区": "Bao'an Qu",
    "龙岗区": "Longgang Qu",
    "盐田区": "Yantian Qu",
    "龙华区": "Longhua Qu",
    "坪山区": "Pingshan Qu",
    "光明区": "Guangming Qu",
    # 珠海
    "香洲区": "Xiangzhou Qu",
    "斗门区": "Doumen Qu",
    "金湾区": "Jinwan Qu",
    # 汕头
    "龙湖区": "Longhu Qu",
    "金平区": "Jinping Qu",
    "濠江区": "Haojiang Qu",
    "潮阳区": "Chaoyang Qu",
    "潮南区": "Chaonan Qu",
    "澄海区": "Chenghai Qu",
    "南澳县": "Nan'ao Xian",
    # 佛山
    "禅城区": "Chancheng Qu",
    "南海区": "Nanhai Qu",
    "顺德区": "Shunde Qu",
    "三水区": "Sanshui Qu",
    "高明区": "Gaoming Qu",
    # 江门
    "蓬江区": "Pengjiang Qu",
    "江海区": "Jianghai Qu",
    "新会区": "Xinhui Qu",
    "台山市": "Taishan Shi",
    "开平市": "Kaiping Shi",
    "鹤山市": "Heshan Shi",
    "恩平市": "Enping Shi",
    # 湛江
    "赤坎区": "Chikan Qu",
    "霞山区": "Xiashan Qu",
    "坡头区": "Potou Qu",
    "麻章区": "Mazhang Qu",
    "遂溪县": "Suixi Xian",
    "徐闻县": "Xuwen Xian",
    "廉江市": "Lianjiang Shi",
    "雷州市": "Leizhou Shi",
    "吴川市": "Wuchuan Shi",
    # 茂名
    "茂南区": "Maonan Qu",
    "电白区": "Dianbai Qu",
    "高州市": "Gaozhou Shi",
    "化州市": "Huazhou Shi",
    "信宜市": "Xinyi Shi",
    # 肇庆
    "端州区": "Duanzhou Qu",
    "鼎湖区": "Dinghu Qu",
    "高要区": "Gaoyao Qu",
    "广宁县": "Guangning Xian",
    "怀集县": "Huaiji Xian",
    "封开县": "Fengkai Xian",
    "德庆县": "Deqing Xian",
    "四会市": "Sihui Shi",
    # 惠州
    "惠城区": "Huicheng Qu",
    "惠阳区": "Huiyang Qu",
    "博罗县": "Boluo Xian",
    "惠东县": "Huidong Xian",
    "龙门县": "Longmen Xian",
    # 梅州
    "梅江区": "Meijiang Qu",
    "梅县区": "Meixian Qu",
    "大埔县": "Dabu Xian",
    "丰顺县": "Fengshun Xian",
    "五华县": "Wuhua Xian",
    "平远县": "Pingyuan Xian",
    "蕉岭县": "Jiaoling Xian",
    "兴宁市": "Xingning Shi",
    # 汕尾
    "城区": "Chengqu",
    "海丰县": "Haifeng Xian",
    "陆河县": "Luhe Xian",
    "陆丰市": "Lufeng Shi",
    # 河源
    "源城区": "Yuancheng Qu",
    "紫金县": "Zijin Xian",
    "龙川县": "Longchuan Xian",
    "连平县": "Lianping Xian",
    "和平县": "Heping Xian",
    "东源县": "Dongyuan Xian",
    # 阳江
    "江城区": "Jiangcheng Qu",
    "阳东区": "Yangdong Qu",
    "阳西县": "Yangxi Xian",
    "阳春市": "Yangchun Shi",
    # 清远
    "清城区": "Qingcheng Qu",
    "清新区": "Qingxin Qu",
    "佛冈县": "Fogang Xian",
    "阳山县": "Yangshan Xian",
    "连山壮族瑶族自治县": "Lianshan Zhuangzu Yaozu Zizhixian",
    "连南瑶族自治县": "Liannan Yaozu Zizhixian",
    "英德市": "Yingde Shi",
    "连州市": "Lianzhou Shi",
    # 潮州
    "湘桥区": "Xiangqiao Qu",
    "潮安区": "Chao'an Qu",
    "饶平县": "Raoping Xian",
    # 揭阳
    "榕城区": "Rongcheng Qu",
    "揭东区": "Jiedong Qu",
    "揭西县": "Jiexi Xian",
    "惠来县": "Huilai Xian",
    "普宁市": "Puning Shi",
    # 云浮
    "云城区": "Yuncheng Qu",
    "云安区": "Yun'an Qu",
    "新兴县": "Xinxing Xian",
    "郁南县": "Yunan Xian",
    "罗定市": "Luoding Shi",
}


def _divisions(*levels):
    with DATA.open(encoding="utf-8") as fh:
        return [r["name"] for r in csv.DictReader(fh) if r["level"] in levels]


def test_expected_list_covers_every_city_and_county_in_the_data():
    cities, counties = _divisions("city"), _divisions("county")
    assert len(cities) == 21 and len(counties) == 122
    assert set(cities) | set(counties) | {"广东省"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_official_romanization(name):
    assert romanize(name, "行政区域").text == EXPECTED[name]


@pytest.mark.parametrize(
    "name, specific, generic",
    cases("romanize_split_cases.csv", "name", "specific", "generic"),
)
def test_split_name_longest_generic(name, specific, generic):
    assert split_name(name) == (specific, generic)


# An empty feature class in the table means none given.
@pytest.mark.parametrize(
    "name, feature_class, text",
    [
        (name, cls or None, text)
        for name, cls, text in cases("romanize_spelling_cases.csv", "name", "feature_class", "text")
    ],
)
def test_spelling_rules(name, feature_class, text):
    assert romanize(name, feature_class).text == text


def test_toned_form_and_fields():
    r = romanize("番禺区")
    assert isinstance(r, Romanization)
    assert (r.text, r.toned, r.specific, r.generic) == ("Panyu Qu", "Pānyú Qū", "番禺", "区")
    assert romanize("南澳县").toned == "Nán'ào Xiàn"
    assert romanize("吕梁").toned == "Lǚliáng"


def test_heteronyms_flagged_for_confirmation():
    r = romanize("大埔县")
    flagged = {h["char"]: h for h in r.heteronyms}
    assert {"大", "埔"} <= set(flagged)
    assert flagged["埔"]["chosen"] == "bù" and "pǔ" in flagged["埔"]["readings"]
    assert flagged["埔"]["index"] == 1 and flagged["埔"]["in_generic"] is False
    assert romanize("湛江市").heteronyms == []
    assert r.to_dict()["heteronyms"] == r.heteronyms


def test_ethnic_names_go_with_the_generics_the_table_marks():
    """Which generic terms take the ethnic names in front of them is a column of the one
    generic-terms table (``ethnic_prefix``), not a second list in romanize.py."""
    from gazetteer.generic_terms import parse_row, shipped_terms

    marked = {t.term for t in shipped_terms().values() if t.ethnic_prefix}
    assert {"自治区", "自治州", "自治县", "自治旗", "民族乡"} <= marked
    assert "县" not in marked
    for term in marked:
        assert split_name(f"乳源瑶族{term}") == ("乳源", f"瑶族{term}")
    assert split_name("乳源瑶族县") == ("乳源瑶族", "县")
    row = {"term": "苏木", "classes": "行政区域", "ethnic_prefix": "yes"}
    assert parse_row(row).ethnic_prefix and not parse_row({"term": "苏木"}).ethnic_prefix
