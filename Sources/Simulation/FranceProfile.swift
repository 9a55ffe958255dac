import ContactTracing
import Foundation
import Ledger

extension SimulationProfile {
    /// One département of the national profile: its code, its health insurance fund, its prefecture,
    /// its population, and the platform that takes its cases over after 15 July 2022.
    struct Departement {
        /// `01` to `95`, `2A`, `2B`, `971` to `976`.
        var code: String
        /// The fund that ran its platform (CPAM; CGSS overseas, CSS in Mayotte).
        var fund: String
        /// Postcode of the prefecture.
        var postcode: String
        /// The prefecture.
        var prefecture: String
        /// INSEE legal population 2019 (Mayotte: 2017 census), rounded to the thousand.
        var population: Int
        /// Code of the département whose platform takes over after the closures (its own when it stays open).
        var receiver: String
    }

    /// The 101 départements (docs/simulation.md, "Profile `france-2020-2022`"). Populations: INSEE
    /// legal populations 2019 (population municipale, in force from 1 January 2022), Mayotte's from its
    /// 2017 census, rounded to the thousand. Receivers: one platform per zone, a region or two
    /// neighbouring ones (modelled, except Aude).
    static let departements: [Departement] = departementRows.map {
        Departement(
            code: $0.0, fund: $0.1, postcode: $0.2, prefecture: $0.3, population: $0.4 * 1_000, receiver: $0.5
        )
    }

    /// Code, fund, postcode, prefecture, population in thousands, receiving département.
    private static let departementRows: [(String, String, String, String, Int, String)] = [
        ("01", "CPAM de l'Ain", "01000", "Bourg-en-Bresse", 652, "69"),
        ("02", "CPAM de l'Aisne", "02000", "Laon", 531, "59"),
        ("03", "CPAM de l'Allier", "03000", "Moulins", 338, "69"),
        ("04", "CPAM des Alpes-de-Haute-Provence", "04000", "Digne-les-Bains", 164, "13"),
        ("05", "CPAM des Hautes-Alpes", "05000", "Gap", 141, "13"),
        ("06", "CPAM des Alpes-Maritimes", "06000", "Nice", 1_083, "13"),
        ("07", "CPAM de l'Ardèche", "07000", "Privas", 328, "69"),
        ("08", "CPAM des Ardennes", "08000", "Charleville-Mézières", 271, "67"),
        ("09", "CPAM de l'Ariège", "09000", "Foix", 153, "11"),
        ("10", "CPAM de l'Aube", "10000", "Troyes", 310, "67"),
        ("11", "CPAM de l'Aude", "11000", "Carcassonne", 374, "11"),
        ("12", "CPAM de l'Aveyron", "12000", "Rodez", 280, "11"),
        ("13", "CPAM des Bouches-du-Rhône", "13001", "Marseille", 2_043, "13"),
        ("14", "CPAM du Calvados", "14000", "Caen", 695, "59"),
        ("15", "CPAM du Cantal", "15000", "Aurillac", 145, "69"),
        ("16", "CPAM de la Charente", "16000", "Angoulême", 352, "33"),
        ("17", "CPAM de la Charente-Maritime", "17000", "La Rochelle", 651, "33"),
        ("18", "CPAM du Cher", "18000", "Bourges", 302, "75"),
        ("19", "CPAM de la Corrèze", "19000", "Tulle", 240, "33"),
        ("2A", "CPAM de la Corse-du-Sud", "20000", "Ajaccio", 159, "13"),
        ("2B", "CPAM de la Haute-Corse", "20200", "Bastia", 182, "13"),
        ("21", "CPAM de la Côte-d'Or", "21000", "Dijon", 534, "67"),
        ("22", "CPAM des Côtes-d'Armor", "22000", "Saint-Brieuc", 601, "35"),
        ("23", "CPAM de la Creuse", "23000", "Guéret", 117, "33"),
        ("24", "CPAM de la Dordogne", "24000", "Périgueux", 413, "33"),
        ("25", "CPAM du Doubs", "25000", "Besançon", 544, "67"),
        ("26", "CPAM de la Drôme", "26000", "Valence", 517, "69"),
        ("27", "CPAM de l'Eure", "27000", "Évreux", 600, "59"),
        ("28", "CPAM d'Eure-et-Loir", "28000", "Chartres", 432, "75"),
        ("29", "CPAM du Finistère", "29000", "Quimper", 915, "35"),
        ("30", "CPAM du Gard", "30000", "Nîmes", 748, "11"),
        ("31", "CPAM de la Haute-Garonne", "31000", "Toulouse", 1_400, "11"),
        ("32", "CPAM du Gers", "32000", "Auch", 191, "11"),
        ("33", "CPAM de la Gironde", "33000", "Bordeaux", 1_624, "33"),
        ("34", "CPAM de l'Hérault", "34000", "Montpellier", 1_176, "11"),
        ("35", "CPAM d'Ille-et-Vilaine", "35000", "Rennes", 1_079, "35"),
        ("36", "CPAM de l'Indre", "36000", "Châteauroux", 219, "75"),
        ("37", "CPAM d'Indre-et-Loire", "37000", "Tours", 610, "75"),
        ("38", "CPAM de l'Isère", "38000", "Grenoble", 1_271, "69"),
        ("39", "CPAM du Jura", "39000", "Lons-le-Saunier", 259, "67"),
        ("40", "CPAM des Landes", "40000", "Mont-de-Marsan", 414, "33"),
        ("41", "CPAM de Loir-et-Cher", "41000", "Blois", 329, "75"),
        ("42", "CPAM de la Loire", "42000", "Saint-Étienne", 766, "69"),
        ("43", "CPAM de la Haute-Loire", "43000", "Le Puy-en-Velay", 228, "69"),
        ("44", "CPAM de Loire-Atlantique", "44000", "Nantes", 1_429, "35"),
        ("45", "CPAM du Loiret", "45000", "Orléans", 680, "75"),
        ("46", "CPAM du Lot", "46000", "Cahors", 174, "11"),
        ("47", "CPAM de Lot-et-Garonne", "47000", "Agen", 331, "33"),
        ("48", "CPAM de la Lozère", "48000", "Mende", 76, "11"),
        ("49", "CPAM de Maine-et-Loire", "49000", "Angers", 818, "35"),
        ("50", "CPAM de la Manche", "50000", "Saint-Lô", 495, "59"),
        ("51", "CPAM de la Marne", "51000", "Châlons-en-Champagne", 567, "67"),
        ("52", "CPAM de la Haute-Marne", "52000", "Chaumont", 173, "67"),
        ("53", "CPAM de la Mayenne", "53000", "Laval", 307, "35"),
        ("54", "CPAM de Meurthe-et-Moselle", "54000", "Nancy", 733, "67"),
        ("55", "CPAM de la Meuse", "55000", "Bar-le-Duc", 184, "67"),
        ("56", "CPAM du Morbihan", "56000", "Vannes", 760, "35"),
        ("57", "CPAM de la Moselle", "57000", "Metz", 1_044, "67"),
        ("58", "CPAM de la Nièvre", "58000", "Nevers", 204, "67"),
        ("59", "CPAM du Nord", "59000", "Lille", 2_611, "59"),
        ("60", "CPAM de l'Oise", "60000", "Beauvais", 829, "59"),
        ("61", "CPAM de l'Orne", "61000", "Alençon", 280, "59"),
        ("62", "CPAM du Pas-de-Calais", "62000", "Arras", 1_465, "59"),
        ("63", "CPAM du Puy-de-Dôme", "63000", "Clermont-Ferrand", 659, "69"),
        ("64", "CPAM des Pyrénées-Atlantiques", "64000", "Pau", 683, "33"),
        ("65", "CPAM des Hautes-Pyrénées", "65000", "Tarbes", 229, "11"),
        ("66", "CPAM des Pyrénées-Orientales", "66000", "Perpignan", 479, "11"),
        ("67", "CPAM du Bas-Rhin", "67000", "Strasbourg", 1_140, "67"),
        ("68", "CPAM du Haut-Rhin", "68000", "Colmar", 764, "67"),
        ("69", "CPAM du Rhône", "69001", "Lyon", 1_876, "69"),
        ("70", "CPAM de la Haute-Saône", "70000", "Vesoul", 235, "67"),
        ("71", "CPAM de Saône-et-Loire", "71000", "Mâcon", 551, "67"),
        ("72", "CPAM de la Sarthe", "72000", "Le Mans", 566, "35"),
        ("73", "CPAM de la Savoie", "73000", "Chambéry", 436, "69"),
        ("74", "CPAM de la Haute-Savoie", "74000", "Annecy", 826, "69"),
        ("75", "CPAM de Paris", "75001", "Paris", 2_165, "75"),
        ("76", "CPAM de la Seine-Maritime", "76000", "Rouen", 1_256, "59"),
        ("77", "CPAM de Seine-et-Marne", "77000", "Melun", 1_421, "75"),
        ("78", "CPAM des Yvelines", "78000", "Versailles", 1_448, "75"),
        ("79", "CPAM des Deux-Sèvres", "79000", "Niort", 375, "33"),
        ("80", "CPAM de la Somme", "80000", "Amiens", 571, "59"),
        ("81", "CPAM du Tarn", "81000", "Albi", 390, "11"),
        ("82", "CPAM de Tarn-et-Garonne", "82000", "Montauban", 261, "11"),
        ("83", "CPAM du Var", "83000", "Toulon", 1_077, "13"),
        ("84", "CPAM de Vaucluse", "84000", "Avignon", 561, "13"),
        ("85", "CPAM de la Vendée", "85000", "La Roche-sur-Yon", 685, "35"),
        ("86", "CPAM de la Vienne", "86000", "Poitiers", 438, "33"),
        ("87", "CPAM de la Haute-Vienne", "87000", "Limoges", 372, "33"),
        ("88", "CPAM des Vosges", "88000", "Épinal", 364, "67"),
        ("89", "CPAM de l'Yonne", "89000", "Auxerre", 336, "67"),
        ("90", "CPAM du Territoire de Belfort", "90000", "Belfort", 141, "67"),
        ("91", "CPAM de l'Essonne", "91000", "Évry-Courcouronnes", 1_302, "75"),
        ("92", "CPAM des Hauts-de-Seine", "92000", "Nanterre", 1_624, "75"),
        ("93", "CPAM de la Seine-Saint-Denis", "93000", "Bobigny", 1_645, "75"),
        ("94", "CPAM du Val-de-Marne", "94000", "Créteil", 1_407, "75"),
        ("95", "CPAM du Val-d'Oise", "95000", "Cergy", 1_250, "75"),
        ("971", "CGSS de la Guadeloupe", "97100", "Basse-Terre", 384, "972"),
        ("972", "CGSS de la Martinique", "97200", "Fort-de-France", 365, "972"),
        ("973", "CGSS de la Guyane", "97300", "Cayenne", 282, "972"),
        ("974", "CGSS de La Réunion", "97400", "Saint-Denis", 861, "974"),
        ("976", "CSS de Mayotte", "97600", "Mamoudzou", 257, "974"),
    ]

    /// The platform id of a département: `cpam-` and its code in lower case (`cpam-2a`, `cpam-971`).
    static func platformID(_ code: String) -> String { "cpam-" + code.lowercased() }

    /// France, 11 May 2020 to 31 December 2022: one platform per département sharing the national
    /// totals of the December 2022 audit by population; Hérault keeps its published figures; on
    /// 15 July 2022 all but ten platforms close and hand their open cases over to one of the ten.
    public static let france20202022: SimulationProfile = {
        let closing = day(2022, 7, 15)
        let platforms = departements.map { d -> Platform in
            let stays = d.receiver == d.code
            let herault = d.code == "34"
            return Platform(
                id: platformID(d.code), name: d.fund, sites: [d.prefecture], departement: d.code,
                town: "\(d.postcode) \(d.prefecture)", opensOn: day(2020, 5, 11),
                closesOn: stays ? nil : closing, handoverTo: stays ? nil : platformID(d.receiver),
                patientsZero: herault ? 608_845 : 0, contacts: herault ? 406_000 : 0, population: d.population
            )
        }
        return SimulationProfile(
            name: "france-2020-2022",
            summary:
                "France, 2020-05-11 to 2022-12-31: one platform per département (101) sharing 32 000 000 "
                + "patients zéro and 22 700 000 contacts by population (Hérault keeps its own figures); on "
                + "2022-07-15 all but ten close and hand their open cases over (Hérault to Carcassonne)",
            start: day(2020, 5, 11), end: day(2022, 12, 31),
            platforms: platforms,
            baseline: 0.03,
            waves: [
                Wave(peak: day(2020, 9, 15), width: 14, height: 0.25),
                Wave(peak: day(2020, 11, 2), width: 12, height: 1.0),
                Wave(peak: day(2021, 1, 20), width: 22, height: 0.45),
                Wave(peak: day(2021, 4, 1), width: 16, height: 0.8),
                Wave(peak: day(2021, 8, 1), width: 13, height: 0.55),
                Wave(peak: day(2021, 12, 15), width: 12, height: 1.0),
                Wave(peak: day(2022, 1, 24), width: 11, height: 6.0),
                Wave(peak: day(2022, 3, 30), width: 14, height: 2.4),
                Wave(peak: day(2022, 7, 10), width: 12, height: 2.0),
                Wave(peak: day(2022, 10, 6), width: 12, height: 0.9),
                Wave(peak: day(2022, 12, 22), width: 10, height: 0.9),
            ],
            rules: nationalRules + [endOfOutboundCalls],
            patientZeroDigitalShare: Ramp([
                (day(2020, 9, 30), 0), (day(2020, 10, 1), 0.05), (day(2022, 1, 3), 0.8),
            ]),
            contactDigitalShare: Ramp([
                (day(2020, 9, 30), 0), (day(2020, 10, 1), 0.3), (day(2022, 1, 3), 0.9),
            ]),
            noContactShare: Ramp([(day(2021, 11, 30), 0.5), (day(2022, 1, 3), 0.9)]),
            contactsPerDeclarer: Ramp([
                (day(2020, 5, 11), 2.6), (day(2021, 12, 31), 2.2), (day(2022, 7, 15), 2.0),
            ]),
            patientZeroWithin24h: 0.95,
            contactWithin24h: Ramp([
                (day(2020, 5, 11), 0.78), (day(2022, 1, 19), 0.7), (day(2022, 7, 15), 0.76),
            ]),
            laterPositiveShare: Ramp([(day(2020, 5, 11), 0.08), (day(2022, 7, 15), 0.12)]),
            selfDeclaredContactShare: 0.04,
            national: NationalTotals(patientsZero: 32_000_000, contacts: 22_700_000, published: ["cpam-34"]))
    }()
}
